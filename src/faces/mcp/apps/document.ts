import { LIBRARY_BINDING } from './library.js';
import { coverStudioView, type ViewConfig } from './view.js';

/**
 * Colours come from the host's variables (MCP Apps style variables) with our own fallbacks, and the fallbacks
 * follow `data-theme` (which `applyDocumentTheme` sets from the host's theme), so the view matches a light or
 * dark chat even when the host sends no variables.
 */
const CSS = `
:root{color-scheme:light dark;--bg:var(--color-background-primary,#fff);--bg2:var(--color-background-secondary,#f4f4f5);--fg:var(--color-text-primary,#18181b);--fg2:var(--color-text-secondary,#52525b);--line:var(--color-border-primary,#d4d4d8);--accent:var(--color-ring-primary,#2563eb);--bad:var(--color-text-danger,#b91c1c);--good:var(--color-text-success,#15803d);--r:var(--border-radius-md,8px)}
[data-theme=dark]{--bg:var(--color-background-primary,#18181b);--bg2:var(--color-background-secondary,#27272a);--fg:var(--color-text-primary,#f4f4f5);--fg2:var(--color-text-secondary,#a1a1aa);--line:var(--color-border-primary,#3f3f46);--accent:var(--color-ring-primary,#60a5fa);--bad:var(--color-text-danger,#f87171);--good:var(--color-text-success,#4ade80)}
*{box-sizing:border-box}
body{margin:0;padding:12px;background:var(--bg);color:var(--fg);font:14px/1.4 var(--font-sans,system-ui,-apple-system,"Segoe UI",sans-serif)}
h1{font-size:16px;margin:0}
#status{min-height:1.4em;margin:4px 0 8px;color:var(--fg2)}#status.error{color:var(--bad)}
#cover{display:grid;gap:12px;grid-template-columns:minmax(0,3fr) minmax(0,2fr)}
@media (max-width:640px){#cover{grid-template-columns:minmax(0,1fr)}}
figure{margin:0}figure img{width:100%;aspect-ratio:1200/630;object-fit:cover;border-radius:var(--r);background:var(--bg2);display:block}
figcaption{color:var(--fg2);font-size:12px;margin-top:4px;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 10px;margin:0}dt{color:var(--fg2)}dd{margin:0;overflow-wrap:anywhere}
.swatch{display:inline-block;width:18px;height:18px;border-radius:4px;margin-right:4px;border:1px solid var(--line);vertical-align:middle}
#score{font-weight:600}#reasons{list-style:none;padding:0;margin:4px 0 0;font-size:12px;color:var(--fg2)}#reasons .fail .mark{color:var(--bad)}#reasons .pass .mark{color:var(--good)}
button{font:inherit;color:var(--fg);background:var(--bg2);border:1px solid var(--line);border-radius:var(--r);padding:6px 10px;min-height:32px;cursor:pointer}
button:focus-visible,input:focus-visible{outline:2px solid var(--accent);outline-offset:2px}button:disabled{opacity:.5;cursor:default}
.row{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px;align-items:center}
#stars button{min-width:36px;padding:4px 6px}#stars button.on{background:var(--accent);color:var(--bg);border-color:var(--accent)}
#batch{margin-top:14px}#batch-head{font-weight:600}progress{width:100%;height:6px;accent-color:var(--accent)}
#grid{list-style:none;padding:0;margin:8px 0 0;display:grid;gap:8px;grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}
#grid li{border:1px solid var(--line);border-radius:var(--r);padding:4px;background:var(--bg2);min-width:0}#grid li.focused{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
.thumb{padding:0;border:0;display:block;width:100%;background:none}.thumb img{width:100%;aspect-ratio:1200/630;object-fit:cover;border-radius:4px;display:block;background:var(--bg)}
#grid .pending .thumb img{opacity:.3}.pick{display:block;font-size:12px;margin-top:4px}.meta{display:block;font-size:11px;color:var(--fg2);overflow-wrap:anywhere}
`;

const BODY = `
<main>
<h1>Cover studio</h1>
<p id="status" role="status" aria-live="polite"></p>
<p id="empty">Waiting for a cover from loraloop…</p>
<section id="cover" aria-label="Cover" hidden>
 <figure><img id="cover-img" alt="Cover"><figcaption id="cover-label"></figcaption></figure>
 <div>
  <dl>
   <dt>Coin</dt><dd id="fact-coin"></dd>
   <dt>LoRA</dt><dd id="fact-lora"></dd>
   <dt>Palette</dt><dd id="fact-palette"></dd>
   <dt>Style</dt><dd id="fact-style"></dd>
   <dt>Critic</dt><dd><span id="score" aria-label="Critic score"></span><ul id="reasons" aria-label="Critic's reasons"></ul></dd>
  </dl>
  <div class="row" id="stars" role="group" aria-label="Rate this cover">
   <button type="button" data-stars="1" aria-label="Rate 1 star">1★</button><button type="button" data-stars="2" aria-label="Rate 2 stars">2★</button><button type="button" data-stars="3" aria-label="Rate 3 stars">3★</button><button type="button" data-stars="4" aria-label="Rate 4 stars">4★</button><button type="button" data-stars="5" aria-label="Rate 5 stars">5★</button>
  </div>
  <div class="row"><button type="button" id="again">Generate again</button><button type="button" id="restyle">Another style</button></div>
 </div>
</section>
<section id="batch" aria-label="Drafts" hidden>
 <div id="batch-head"></div>
 <progress id="batch-progress" aria-label="Drafts done" value="0" max="1"></progress>
 <ul id="grid"></ul>
 <div class="row"><button type="button" id="save-picks">Save picks</button><button type="button" id="keep-best">Keep the best</button></div>
</section>
</main>`;

/** JSON that is safe inside a `<script>` (no `</script>`, no HTML comment openers). */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

/** The whole view as one document: styles, markup, the ext-apps library and the view, inline. */
export function buildCoverStudioHtml(library: string, cfg: ViewConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>loraloop cover studio</title>
<style>${CSS}</style>
</head>
<body>${BODY}
<script type="module">
${library}
{
// Run from source under tsx, esbuild's keepNames wraps functions in __name(…); a no-op stands in for its helper.
const __name = (f) => f;
(${coverStudioView.toString()})(${LIBRARY_BINDING}, ${scriptJson(cfg)});
}
</script>
</body>
</html>
`;
}
