/**
 * The HTML report of a run: what was new, each LoRA's gaps and decision, and the evaluation suite with the
 * current and the candidate version side by side. Written under LORALOOP_HOME/reports with image links
 * relative to it (the covers are blobs in LORALOOP_HOME/blobs), so the folder can be opened or copied whole.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoraSummary, RunSummary } from './summary.js';
import { describeLora } from './summary.js';

const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function img(reportDir: string, p: string | null): string {
  if (!p) return '<span class="none">no image</span>';
  const rel = path.relative(reportDir, p).split(path.sep).join('/');
  return `<img src="${esc(rel)}" loading="lazy" alt="">`;
}

function loraSection(l: LoraSummary, reportDir: string): string {
  const gaps = l.gaps.length
    ? `<ul>${l.gaps.map((g) => `<li><b>${esc(g.category)}</b> ${esc(g.direction)} (${esc(g.severity)}): ${esc(g.advice)}</li>`).join('')}</ul>`
    : '<p>No gaps outside their target ranges.</p>';
  const change = l.change
    ? `<p>Training set: ${l.change.added} added, ${l.change.removed} removed since the ${esc(l.change.baseline_from)} (threshold ${l.change.threshold}).</p>`
    : '';
  let table = '';
  if (l.samples.length) {
    const byPrompt = new Map<string, { current?: (typeof l.samples)[number]; candidate?: (typeof l.samples)[number] }>();
    for (const s of l.samples) {
      const row = byPrompt.get(s.prompt) ?? {};
      row[s.role] = s;
      byPrompt.set(s.prompt, row);
    }
    table = `<table><tr><th>prompt</th><th>current v${l.current_version}</th><th>candidate v${l.candidate_version}</th></tr>${[...byPrompt]
      .map(
        ([k, r]) =>
          `<tr><td>${esc(k)}</td><td>${img(reportDir, r.current?.path ?? null)}<div>${r.current ? `${r.current.score.toFixed(3)}${r.current.failed_checks.length ? ` · failed: ${esc(r.current.failed_checks.join(', '))}` : ''}` : ''}</div></td><td>${img(reportDir, r.candidate?.path ?? null)}<div>${r.candidate ? `${r.candidate.score.toFixed(3)}${r.candidate.failed_checks.length ? ` · failed: ${esc(r.candidate.failed_checks.join(', '))}` : ''}` : ''}</div></td></tr>`,
      )
      .join('')}</table>`;
  }
  const verdict = l.verdict
    ? `<p class="verdict ${l.verdict.promote ? 'up' : 'keep'}">Mean score: current ${l.verdict.current.toFixed(3)}, candidate ${l.verdict.candidate.toFixed(3)}, delta ${l.verdict.delta.toFixed(3)} (margin ${l.verdict.margin}).</p>`
    : '';
  return `<section><h2>${esc(l.name)} <small>${esc(l.outcome)}</small></h2><p>${esc(describeLora(l))}</p>
<p>New since the last run: ${l.new_images} images, ${l.new_ratings} ratings; ${l.positives_added} well-rated covers added to the set, ${l.negatives_excluded} badly rated ones excluded.</p>
<h3>Gaps</h3>${gaps}${change}${verdict}${table}</section>`;
}

/** Write the report and return its path. Atomic: a reader never sees half a file. */
export function writeReport(home: string, summary: RunSummary): string {
  const dir = path.join(home, 'reports');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `improve-${summary.run_id ?? 'dry-run'}.html`);
  const feeds = summary.feeds.length
    ? `<ul>${summary.feeds.map((f) => `<li>${esc(f.source)}: ${f.added} added${f.error ? `, failed: ${esc(f.error)}` : ''}</li>`).join('')}</ul>`
    : '<p>No feeds configured (LORALOOP_FEEDS).</p>';
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>loraloop nightly run ${esc(summary.run_id)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1400px}img{width:100%;max-width:480px}td{vertical-align:top;padding:4px}
table{border-collapse:collapse}tr:nth-child(even){background:#f4f4f4}.up{color:#060}.keep{color:#a40}small{color:#666;font-weight:normal}</style></head><body>
<h1>Nightly improvement run</h1><p>Run ${esc(summary.run_id)}${summary.resumed ? ' (resumed after an interruption)' : ''}; new since ${esc(summary.since)}: ${summary.new_images} images, ${summary.new_ratings} ratings.</p>
<h2>Feeds</h2>${feeds}
${summary.loras.map((l) => loraSection(l, dir)).join('\n')}
</body></html>`;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, html);
  renameSync(tmp, file);
  return file;
}
