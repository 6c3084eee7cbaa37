/**
 * The dataset report as ONE self-contained HTML file: inline CSS, an inline SVG chart of the category
 * distribution against the target ranges, the gaps, the issue list, duplicate groups side by side, and every
 * image as a thumbnail (data URLs). No script, no external request: it opens from a mail attachment.
 */
import type { DatasetAnalysis } from '../analyze/index.js';

/** Everything the page shows. */
export interface ReportModel {
  title: string;
  subtitle: string;
  reasoning: string;
  analysis: DatasetAnalysis;
  /** Thumbnail data URLs by image key (image id or file). */
  thumbs: Map<string, string>;
  /** Captions by image key (lora mode). */
  captions: Map<string, string>;
  /** File name of the contact sheet PNG written beside the report. */
  contactSheet: string | null;
  generatedAt: string;
  notes: string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#dfe3ea;--ok:#2f9e63;--warn:#d98a1c;--bad:#d64545;--band:#cfe8da;--bar:#3b6fd8}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.sub{color:var(--muted)}.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px;margin:12px 0}
.stats{display:flex;flex-wrap:wrap;gap:12px}.stat{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:120px}
.stat b{display:block;font-size:20px}.stat span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}.sev{font-weight:600;text-transform:uppercase;font-size:11px}
.sev.high{color:var(--bad)}.sev.medium{color:var(--warn)}.sev.low{color:var(--muted)}
img.thumb{width:64px;height:64px;object-fit:cover;border-radius:4px;background:#eee;display:block}
.dups{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0;padding:10px;background:#fff;border:1px solid var(--line);border-radius:8px}
.dups figure{margin:0;width:140px}.dups img{width:140px;height:140px;object-fit:contain;background:#eee;border-radius:4px}
figcaption{font-size:11px;color:var(--muted);word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:8px}
.grid figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:4px}
.grid img{width:100%;aspect-ratio:1;object-fit:contain;background:#eee;border-radius:4px;display:block}
.tag{display:inline-block;font-size:10px;background:#eef1f6;border-radius:3px;padding:0 4px;margin:1px}
.bad{outline:2px solid var(--bad)}svg text{font:12px system-ui,sans-serif;fill:var(--fg)}
`;

const pctText = (x: number): string => `${Math.round(x * 10) / 10}%`;

/** The category chart: one row per category, the target range as a band, the share as a bar. */
export function categoryChart(a: DatasetAnalysis): string {
  const entries = Object.entries(a.categories).sort((x, y) => (y[1].target ? 1 : 0) - (x[1].target ? 1 : 0) || y[1].count - x[1].count);
  const rowH = 28;
  const labelW = 170;
  const plotW = 520;
  const maxPct = Math.max(50, ...entries.map(([, c]) => Math.max(c.share, c.target?.[1] ?? 0)));
  const scale = (p: number): number => (Math.min(p, maxPct) / maxPct) * plotW;
  const h = entries.length * rowH + 40;
  const rows = entries.map(([name, c], i) => {
    const y = 10 + i * rowH;
    const t = c.target;
    const inRange = t ? c.share >= t[0] && c.share <= t[1] : true;
    const colour = !t ? '#8a94a6' : inRange ? '#2f9e63' : c.share < t[0] ? '#d64545' : '#d98a1c';
    const band = t
      ? `<rect class="target" x="${labelW + scale(t[0])}" y="${y}" width="${Math.max(2, scale(t[1]) - scale(t[0]))}" height="${rowH - 8}" fill="#cfe8da"><title>target ${t[0]}-${t[1]}%</title></rect>`
      : '';
    return `<g class="row" data-category="${escapeHtml(name)}">
<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(name)}</text>
${band}<rect class="bar" data-category="${escapeHtml(name)}" data-share="${c.share}" x="${labelW}" y="${y + 5}" width="${Math.max(1, scale(c.share))}" height="${rowH - 18}" fill="${colour}"><title>${escapeHtml(name)}: ${c.count} images, ${pctText(c.share)}${t ? ` (target ${t[0]}-${t[1]}%)` : ''}</title></rect>
<text x="${labelW + Math.max(1, scale(c.share)) + 6}" y="${y + 15}">${pctText(c.share)} (${c.count})${t ? ` · target ${t[0]}-${t[1]}%` : ''}</text>
</g>`;
  });
  const ticks = [0, 25, 50, 75, 100].filter((p) => p <= maxPct).map((p) => `<line x1="${labelW + scale(p)}" x2="${labelW + scale(p)}" y1="6" y2="${h - 26}" stroke="#e4e7ec"/><text x="${labelW + scale(p)}" y="${h - 10}" text-anchor="middle">${p}%</text>`);
  return `<svg id="category-chart" role="img" aria-label="Category distribution against target ranges" xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 190}" height="${h}" viewBox="0 0 ${labelW + plotW + 190} ${h}">
${ticks.join('\n')}
${rows.join('\n')}
</svg>`;
}

function thumb(model: ReportModel, key: string, label: string, cls = 'thumb'): string {
  const src = model.thumbs.get(key);
  return src ? `<img class="${cls}" src="${src}" alt="${escapeHtml(label)}" title="${escapeHtml(label)}">` : `<div class="${cls}" title="no preview">—</div>`;
}

/** Render the page. */
export function renderReportHtml(model: ReportModel): string {
  const a = model.analysis;
  const labelOf = new Map(a.records.map((r) => [r.key, r.label]));
  const stat = (v: string | number, l: string): string => `<div class="stat"><b>${escapeHtml(String(v))}</b><span>${escapeHtml(l)}</span></div>`;
  const gaps = a.gaps.length
    ? `<table><thead><tr><th>severity</th><th>category</th><th>share</th><th>target</th><th>advice</th></tr></thead><tbody>${a.gaps
        .map((g) => `<tr><td class="sev ${g.severity}">${g.severity}</td><td>${escapeHtml(g.category)}</td><td>${pctText(g.share)}</td><td>${g.target[0]}-${g.target[1]}%</td><td>${escapeHtml(g.advice)}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="card">Every category with a target is within its range.</p>';
  const issues = a.issues.length
    ? `<table id="issues"><thead><tr><th></th><th>image</th><th>issue</th><th>detail</th></tr></thead><tbody>${a.issues
        .map((i) => {
          const key = i.image_id ?? i.file ?? i.label;
          return `<tr data-kind="${i.kind}"><td>${thumb(model, key, i.label)}</td><td>${escapeHtml(i.label)}</td><td>${escapeHtml(i.kind.replace(/_/g, ' '))}</td><td>${escapeHtml(i.detail)}</td></tr>`;
        })
        .join('')}</tbody></table>`
    : '<p class="card">No image issues found.</p>';
  const dups = a.duplicates.length
    ? a.duplicates
        .map(
          (g, n) =>
            `<div class="dups" data-group="${n}">${g
              .map((k, j) => `<figure>${thumb(model, k, labelOf.get(k) ?? k, 'dup')}<figcaption>${j === 0 ? 'kept: ' : ''}${escapeHtml(labelOf.get(k) ?? k)}</figcaption></figure>`)
              .join('')}</div>`,
        )
        .join('')
    : '<p class="card">No duplicates.</p>';
  const flagged = new Set(a.issues.map((i) => i.image_id ?? i.file ?? i.label));
  const grid = a.records
    .map((r) => {
      const cap = model.captions.get(r.key);
      const tip = [r.label, `${r.width}x${r.height} -> bucket ${r.bucket}`, cap ?? ''].filter(Boolean).join('\n');
      return `<figure title="${escapeHtml(tip)}">${model.thumbs.has(r.key) ? `<img class="${flagged.has(r.key) ? 'bad' : ''}" src="${model.thumbs.get(r.key)}" alt="${escapeHtml(r.label)}">` : ''}<figcaption>${escapeHtml(r.label)}<br>${r.categories
        .map((c) => `<span class="tag">${escapeHtml(c)}</span>`)
        .join('')}</figcaption></figure>`;
    })
    .join('');
  const buckets = Object.entries(a.buckets)
    .sort((x, y) => y[1] - x[1])
    .map(([b, n]) => `${b}: ${n}`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(model.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${escapeHtml(model.title)}</h1><div class="sub">${escapeHtml(model.subtitle)} · generated ${escapeHtml(model.generatedAt)}</div>
<div class="stats">${stat(a.images, 'images')}${stat(a.analyzed, 'analysed')}${stat(a.broken, 'broken')}${stat(a.usable, 'usable')}${stat(a.volume_level.replace('_', ' '), 'volume level')}${stat(a.duplicates.length, 'duplicate groups')}${stat(a.issues.length, 'issues')}</div>
<p class="card" id="summary">${escapeHtml(model.reasoning)}</p>
<h2>Category balance</h2><div class="card">${categoryChart(a)}<div class="sub">Bars: share of the analysed images (green within the target, red under, orange over). Pale bands: target ranges. kohya buckets at ${a.resolution_target}px: ${escapeHtml(buckets || 'none')}</div></div>
<h2>Gaps</h2>${gaps}
<h2>Issues (${a.issues.length})</h2>${issues}
<h2>Duplicate groups (${a.duplicates.length})</h2>${dups}
<h2>All images (${a.records.length})</h2>${model.contactSheet ? `<p class="sub">Contact sheet: ${escapeHtml(model.contactSheet)} (beside this file).</p>` : ''}<div class="grid">${grid}</div>
${model.notes.length ? `<h2>Notes</h2><ul>${model.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
</main></body></html>
`;
}
