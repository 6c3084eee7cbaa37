import type { App, applyDocumentTheme, applyHostFonts, applyHostStyleVariables, McpUiHostContext } from '@modelcontextprotocol/ext-apps';

/** What the view takes from the inlined ext-apps library (see library.ts). */
export interface ViewLibrary {
  App: typeof App;
  applyDocumentTheme: typeof applyDocumentTheme;
  applyHostStyleVariables: typeof applyHostStyleVariables;
  applyHostFonts: typeof applyHostFonts;
}

/** Facts the server bakes into the document. */
export interface ViewConfig {
  name: string;
  version: string;
  /** Background styles of the renderer, for "Another style". */
  styles: string[];
}

/**
 * The cover studio, as it runs inside the host's sandboxed frame. It is serialised with `Function#toString`
 * into the document, so it must stay self-contained: no imports at runtime, no outside names but `lib`, `cfg`
 * and the DOM. It holds no cover logic: every button calls the same tool every other face calls, through the
 * host (`callServerTool`), and the view shows what the tool answered.
 */
export function coverStudioView(lib: ViewLibrary, cfg: ViewConfig): void {
  type Obj = Record<string, unknown>;
  interface Lora {
    name: string;
    version?: number;
    strength: number;
  }
  interface Check {
    name: string;
    passed: boolean;
    detail: string;
  }
  interface Cover {
    cover_id: string;
    path: string;
    coin: string | null;
    loras: Lora[];
    palette: string[];
    style: string | null;
    seed: number | null;
    label: string;
  }
  interface Draft {
    number: number;
    status: string;
    cover_id: string | null;
    path: string | null;
    seed: number;
    checkpoint: string | null;
    loras: Lora[];
    coin: string | null;
    palette: string[];
    style: string | null;
  }
  interface Batch {
    batch_id: string;
    status: string;
    backend: string;
    done: number;
    total: number;
    drafts: Draft[];
  }
  interface FileRef {
    url: string | null;
    uri: string;
    mime: string;
  }

  const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
  /** An element with attributes (set as attributes, so ARIA names work in every engine) and children. */
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: Array<Node | string>): HTMLElementTagNameMap[K] => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...kids);
    return e;
  };
  const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const loras = (v: unknown): Lora[] =>
    arr(v).flatMap((x) => {
      const o = obj(x);
      const name = str(o.name);
      return name ? [{ name, strength: num(o.strength) ?? 1, ...(num(o.version) !== null ? { version: num(o.version) as number } : {}) }] : [];
    });

  const state = {
    input: {} as Obj,
    title: null as string | null,
    cover: null as Cover | null,
    batch: null as Batch | null,
    focus: null as number | null,
    picked: new Set<number>(),
    files: new Map<string, FileRef>(),
    critiques: new Map<string, { score: number; checks: Check[] }>(),
    rated: new Map<string, number>(),
    busy: false,
    polling: false,
  };

  const app = new lib.App({ name: cfg.name, version: cfg.version }, {}, { autoResize: true });

  function say(text: string, error = false): void {
    const s = $('status');
    s.textContent = text;
    s.classList.toggle('error', error);
  }

  function remember(resources: unknown): void {
    for (const r of arr(resources)) {
      const o = obj(r);
      const path = str(o.path);
      const uri = str(o.uri);
      if (path && uri) state.files.set(path, { url: str(o.url), uri, mime: str(o.mime_type) ?? 'image/png' });
    }
  }

  function errorText(r: { content?: unknown }): string {
    return arr(r.content)
      .map((c) => str(obj(c).text) ?? '')
      .join(' ')
      .trim();
  }

  /** Settle a tool result: a call the server handed over (`{status: "running", job_id}`) is followed with job_status. */
  async function settle(sc: Obj): Promise<Obj> {
    let cur = sc;
    while (cur.status === 'running' && typeof cur.job_id === 'string' && typeof cur.tool === 'string' && !('batch_id' in cur)) {
      say(`${cur.tool} is still running on the server…`);
      const r = await app.callServerTool({ name: 'job_status', arguments: { job_id: cur.job_id, wait_seconds: 20 } });
      if (r.isError) throw new Error(errorText(r) || 'job_status failed');
      const js = obj(r.structuredContent);
      remember(js.resources);
      if (js.status === 'succeeded') return obj(js.result);
      if (js.status !== 'running') throw new Error(str(js.error) ?? `The job ${String(js.status)}.`);
      cur = { ...cur };
    }
    return cur;
  }

  async function call(name: string, args: Obj): Promise<Obj> {
    const r = await app.callServerTool({ name, arguments: args });
    if (r.isError) throw new Error(errorText(r) || `${name} failed`);
    const sc = obj(r.structuredContent);
    remember(sc.resources);
    return settle(sc);
  }

  /** Run one button's work; the controls stay disabled while it runs so a double click makes one call. */
  async function act(label: string, work: () => Promise<string | void>): Promise<void> {
    if (state.busy) return;
    state.busy = true;
    document.body.setAttribute('aria-busy', 'true');
    render();
    say(`${label}…`);
    try {
      const done = await work();
      say(done ?? '');
    } catch (e) {
      say(e instanceof Error ? e.message : String(e), true);
    } finally {
      state.busy = false;
      document.body.removeAttribute('aria-busy');
      render();
    }
  }

  async function setImage(img: HTMLImageElement, path: string | null): Promise<void> {
    const f = path ? state.files.get(path) : undefined;
    if (!f || img.dataset.path === path) return;
    img.dataset.path = path ?? '';
    if (f.url) {
      img.src = f.url;
      return;
    }
    // No download link (a stdio host): read the loraloop:// resource through the host instead.
    const r = await app.readServerResource({ uri: f.uri });
    const c = obj(arr(r.contents)[0]);
    const blob = str(c.blob);
    if (blob && img.dataset.path === path) img.src = `data:${str(c.mimeType) ?? f.mime};base64,${blob}`;
  }

  function coverFromGenerate(d: Obj): Cover {
    const coins = arr(d.coins).map(obj);
    const primary = coins.find((c) => c.primary === true) ?? coins[0];
    const lora = obj(d.lora);
    const applied = loras(d.loras);
    return {
      cover_id: String(d.cover_id),
      path: String(d.path),
      coin: str(primary?.symbol),
      loras: applied.length ? applied : str(lora.name) ? loras([lora]) : [],
      palette: arr(obj(d.palette).colors).filter((c): c is string => typeof c === 'string'),
      style: str(d.style),
      seed: num(d.seed),
      label: 'Cover',
    };
  }

  function batchFrom(d: Obj): Batch {
    const p = obj(d.progress);
    return {
      batch_id: String(d.batch_id),
      status: String(d.status),
      backend: String(d.backend ?? 'local'),
      done: num(p.done) ?? 0,
      total: num(p.total) ?? 0,
      drafts: arr(d.drafts).map((x) => {
        const o = obj(x);
        return {
          number: num(o.number) ?? 0,
          status: String(o.status),
          cover_id: str(o.cover_id),
          path: str(o.path),
          seed: num(o.seed) ?? 0,
          checkpoint: str(o.checkpoint),
          loras: loras(o.loras),
          coin: str(o.coin),
          palette: arr(o.palette).filter((c): c is string => typeof c === 'string'),
          style: str(o.style),
        };
      }),
    };
  }

  function coverFromDraft(d: Draft): Cover | null {
    if (d.status !== 'done' || !d.cover_id || !d.path) return null;
    return { cover_id: d.cover_id, path: d.path, coin: d.coin, loras: d.loras, palette: d.palette, style: d.style, seed: d.seed, label: `Draft ${d.number}` };
  }

  /** Show what a tool answered: a batch (drafts), a cover_make run (best cover and its score) or one cover. */
  function show(d: Obj): void {
    if (typeof d.batch_id === 'string' && Array.isArray(d.drafts)) {
      const b = batchFrom(d);
      const sameBatch = state.batch?.batch_id === b.batch_id;
      state.batch = b;
      if (!sameBatch) state.picked.clear();
      const first = b.drafts.find((x) => x.status === 'done');
      if (state.focus === null && !state.cover && first) state.focus = first.number;
      if (state.focus !== null) state.cover = coverFromDraft(b.drafts.find((x) => x.number === state.focus) ?? ({} as Draft)) ?? state.cover;
      if (b.status === 'running') void poll();
    } else if (typeof d.cover_id === 'string' && typeof d.path === 'string') {
      state.focus = null;
      if (typeof d.title === 'string') state.title = d.title;
      if (Array.isArray(d.checks) && typeof d.score === 'number') {
        // cover_make already critiqued its best cover.
        state.critiques.set(d.cover_id, { score: d.score, checks: arr(d.checks).map(obj).map((c) => ({ name: String(c.name), passed: c.passed === true, detail: String(c.detail ?? '') })) });
      }
      const c = coverFromGenerate(d);
      if (!c.coin) c.coin = str(obj(d.coin).symbol);
      state.cover = c;
    }
    render();
  }

  async function poll(): Promise<void> {
    if (state.polling) return;
    state.polling = true;
    try {
      while (state.batch && state.batch.status === 'running') {
        say(`Drafts ${state.batch.done}/${state.batch.total}…`);
        await new Promise((r) => setTimeout(r, 1200));
        show(await call('cover_batch', { batch_id: state.batch.batch_id }));
      }
      if (state.batch) say(`Batch ${state.batch.status}: ${state.batch.done}/${state.batch.total} drafts.`);
    } catch (e) {
      say(e instanceof Error ? e.message : String(e), true);
    } finally {
      state.polling = false;
    }
  }

  async function critique(coverId: string): Promise<{ score: number; checks: Check[] }> {
    const known = state.critiques.get(coverId);
    if (known) return known;
    const d = await call('cover_critique', { cover_id: coverId });
    const c = { score: num(d.score) ?? 0, checks: arr(d.checks).map(obj).map((x) => ({ name: String(x.name), passed: x.passed === true, detail: String(x.detail ?? '') })) };
    state.critiques.set(coverId, c);
    return c;
  }

  /** The arguments for one more cover like the one shown: same title and settings, no seed. */
  function againArgs(): Obj | null {
    const i = state.input;
    const title = str(i.title) ?? state.title;
    if (!title) return null;
    const backend = state.batch && state.focus !== null ? state.batch.backend : (str(i.backend) ?? 'local');
    const args: Obj = { title, backend };
    for (const k of ['subtitle', 'prompt', 'tier', 'size'] as const) if (i[k] !== undefined) args[k] = i[k];
    const ls = state.cover?.loras ?? [];
    if (backend !== 'local' && ls.length) args.loras = ls.map((l) => ({ name: l.name, strength: l.strength, ...(l.version ? { version: l.version } : {}) }));
    return args;
  }

  function generate(style: boolean): void {
    const args = againArgs();
    if (!args) return;
    if (style) {
      const cur = state.cover?.style ?? '';
      const others = cfg.styles.filter((s) => s !== cur);
      args.style = others[Math.floor(Math.random() * others.length)] ?? cur;
    }
    void act(style ? 'Trying another style' : 'Generating again', async () => {
      const d = await call('cover_generate', args);
      show(d);
      return `New cover ${String(d.cover_id)}${style && d.style ? ` in the ${String(d.style)} style` : ''}.`;
    });
  }

  function rate(stars: number): void {
    const c = state.cover;
    if (!c) return;
    void act(`Rating ${stars}/5`, async () => {
      const d = await call('cover_rate', { cover_id: c.cover_id, stars });
      state.rated.set(c.cover_id, stars);
      return `Rated ${c.label.toLowerCase()} ${stars}/5 (mean ${String(d.mean_stars)}${d.lora ? `, ${String(d.lora)} ${String(d.set)} set` : ''}).`;
    });
  }

  function savePicks(numbers: number[]): Promise<string> {
    const b = state.batch as Batch;
    return call('drafts_select', { batch_id: b.batch_id, selected: numbers }).then(() => (numbers.length ? `Kept draft${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')}.` : 'Recorded that no draft was good.'));
  }

  function keepBest(): void {
    const b = state.batch;
    if (!b) return;
    void act('Scoring the drafts', async () => {
      let best: { n: number; score: number } | null = null;
      for (const d of b.drafts) {
        if (d.status !== 'done' || !d.cover_id) continue;
        const c = await critique(d.cover_id);
        if (!best || c.score > best.score) best = { n: d.number, score: c.score };
      }
      if (!best) throw new Error('No finished draft to keep yet.');
      state.picked = new Set([best.n]);
      focus(best.n);
      return `${await savePicks([best.n])} Best score ${best.score.toFixed(2)}.`;
    });
  }

  function focus(n: number): void {
    const d = state.batch?.drafts.find((x) => x.number === n);
    const c = d ? coverFromDraft(d) : null;
    if (!c) return;
    state.focus = n;
    state.cover = c;
    render();
  }

  function renderCover(): void {
    const c = state.cover;
    $('cover').hidden = !c;
    if (!c) return;
    const img = $<HTMLImageElement>('cover-img');
    img.alt = `${c.label}${c.coin ? ` for ${c.coin}` : ''}`;
    void setImage(img, c.path).catch((e: unknown) => say(`Could not load the image: ${e instanceof Error ? e.message : String(e)}`, true));
    $('cover-label').textContent = `${c.label} · ${c.cover_id}`;
    $('fact-coin').textContent = c.coin ?? 'none';
    $('fact-lora').textContent = c.loras.length ? c.loras.map((l) => `${l.name}${l.version ? ` v${l.version}` : ''} at ${l.strength}`).join(', ') : 'none';
    $('fact-style').textContent = [c.style, c.seed !== null ? `seed ${c.seed}` : null].filter(Boolean).join(', ') || '—';
    const pal = $('fact-palette');
    pal.replaceChildren(...c.palette.map((hex) => el('span', { class: 'swatch', title: hex, role: 'img', 'aria-label': hex })));
    pal.querySelectorAll<HTMLSpanElement>('.swatch').forEach((s, i) => (s.style.background = c.palette[i] ?? 'transparent'));
    if (!c.palette.length) pal.textContent = '—';
    const crit = state.critiques.get(c.cover_id);
    const score = $('score');
    const reasons = $('reasons');
    if (!crit) {
      score.textContent = '…';
      reasons.replaceChildren();
      // Ask the critic once per cover; the answer re-renders the panel.
      void critique(c.cover_id)
        .then(() => state.cover?.cover_id === c.cover_id && render())
        .catch((e: unknown) => {
          score.textContent = 'n/a';
          reasons.replaceChildren(el('li', {}, `Critic unavailable: ${e instanceof Error ? e.message : String(e)}`));
        });
    } else {
      score.textContent = crit.score.toFixed(2);
      const sorted = [...crit.checks].sort((a, b) => Number(a.passed) - Number(b.passed));
      reasons.replaceChildren(...sorted.map((k) => el('li', { class: k.passed ? 'pass' : 'fail' }, el('span', { class: 'mark', role: 'img', 'aria-label': k.passed ? 'passed' : 'failed' }, k.passed ? '✓' : '✗'), ` ${k.name}: ${k.detail}`)));
    }
    const rated = state.rated.get(c.cover_id);
    document.querySelectorAll<HTMLButtonElement>('#stars button').forEach((b) => {
      const n = Number(b.dataset.stars);
      b.setAttribute('aria-pressed', String(rated === n));
      b.classList.toggle('on', rated !== undefined && n <= rated);
      b.disabled = state.busy;
    });
    const can = againArgs() !== null;
    for (const id of ['again', 'restyle']) {
      const b = $<HTMLButtonElement>(id);
      b.disabled = state.busy || !can;
      b.title = can ? '' : 'The tool input (title) is not known to the view';
    }
  }

  function renderBatch(): void {
    const b = state.batch;
    $('batch').hidden = !b;
    if (!b) return;
    $('batch-head').textContent = `Batch ${b.batch_id} · ${b.done}/${b.total} drafts${b.status === 'running' ? ' (running)' : ''}`;
    const bar = $<HTMLProgressElement>('batch-progress');
    bar.max = Math.max(1, b.total);
    bar.value = b.done;
    const grid = $('grid');
    for (const d of b.drafts) {
      let li = grid.querySelector<HTMLLIElement>(`li[data-n="${d.number}"]`);
      if (!li) {
        const img = el('img', { alt: `Draft ${d.number}` });
        const open = el('button', { type: 'button', class: 'thumb', 'aria-label': `Show draft ${d.number}` }, img);
        open.addEventListener('click', () => focus(d.number));
        const box = el('input', { type: 'checkbox', 'aria-label': `Pick draft ${d.number}` });
        box.addEventListener('change', () => (box.checked ? state.picked.add(d.number) : state.picked.delete(d.number)));
        li = el('li', {}, open, el('label', { class: 'pick' }, box, ` Pick #${d.number}`), el('span', { class: 'meta' }));
        li.dataset.n = String(d.number);
        grid.append(li);
      }
      li.className = `${d.status}${state.focus === d.number ? ' focused' : ''}`;
      const open = li.querySelector('button') as HTMLButtonElement;
      open.setAttribute('aria-pressed', String(state.focus === d.number));
      open.disabled = d.status !== 'done';
      const box = li.querySelector('input') as HTMLInputElement;
      box.checked = state.picked.has(d.number);
      box.disabled = d.status !== 'done' || state.busy;
      (li.querySelector('.meta') as HTMLElement).textContent = d.status === 'done' ? [d.checkpoint, d.loras.map((l) => `${l.name} ${l.strength}`).join(' + '), `seed ${d.seed}`].filter(Boolean).join(' · ') : d.status === 'failed' ? 'failed' : 'drafting…';
      if (d.path) void setImage(li.querySelector('img') as HTMLImageElement, d.path).catch(() => undefined);
    }
    const anyDone = b.drafts.some((d) => d.status === 'done');
    $<HTMLButtonElement>('save-picks').disabled = state.busy || !anyDone;
    $<HTMLButtonElement>('keep-best').disabled = state.busy || !anyDone;
  }

  function render(): void {
    $('empty').hidden = Boolean(state.cover || state.batch);
    renderCover();
    renderBatch();
  }

  function applyContext(ctx: McpUiHostContext | undefined): void {
    if (!ctx) return;
    if (ctx.theme) lib.applyDocumentTheme(ctx.theme);
    if (ctx.styles?.variables) lib.applyHostStyleVariables(ctx.styles.variables);
    if (ctx.styles?.css?.fonts) lib.applyHostFonts(ctx.styles.css.fonts);
  }

  document.querySelectorAll<HTMLButtonElement>('#stars button').forEach((b) => b.addEventListener('click', () => rate(Number(b.dataset.stars))));
  $('again').addEventListener('click', () => generate(false));
  $('restyle').addEventListener('click', () => generate(true));
  $('keep-best').addEventListener('click', keepBest);
  $('save-picks').addEventListener('click', () => void act('Saving picks', () => savePicks([...state.picked].sort((a, b) => a - b))));

  app.ontoolinput = (p) => {
    state.input = obj(p.arguments);
    render();
  };
  app.ontoolresult = (r) => {
    if (r.isError) {
      say(errorText(r) || 'The tool failed.', true);
      return;
    }
    const sc = obj(r.structuredContent);
    remember(sc.resources);
    settle(sc)
      .then(show)
      .catch((e: unknown) => say(e instanceof Error ? e.message : String(e), true));
  };
  app.onhostcontextchanged = (ctx) => applyContext(ctx);
  app
    .connect()
    .then(() => {
      applyContext(app.getHostContext());
      document.documentElement.dataset.connected = 'true';
    })
    .catch((e: unknown) => say(`Not connected to the host: ${e instanceof Error ? e.message : String(e)}`, true));
  render();
}
