/**
 * dataset_report's engine: analyse the project (streamed, thumbnails made from the analysis' own small
 * decode, so no image is decoded twice), then write one self-contained HTML file and a PNG contact sheet.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import type { LoraRecord } from '../../store/repos/loras.js';
import { analysisReasoning, analyzeProject, type AnalyzeCallOptions, type AnalyzeDeps, type DatasetAnalysis } from '../analyze/index.js';
import { renderReportHtml } from './html.js';

/** Thumbnail long side in the report and the contact sheet. */
export const THUMB_SIZE = 160;
/** Images shown as thumbnails (beyond this the report lists them without pictures, to stay a sane size). */
export const MAX_THUMBS = 1500;
/** Images on the contact sheet. */
export const MAX_SHEET = 400;

/** Where the report went. */
export interface WrittenReport {
  html_path: string;
  contact_sheet_path: string;
  html_bytes: number;
  analysis: DatasetAnalysis;
  thumbnails: number;
  sheet_images: number;
  notes: string[];
}

async function atomicWrite(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.part`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** A grid of thumbnails, images with issues framed in red. */
export async function contactSheet(thumbs: Array<{ jpeg: Buffer; flagged: boolean }>, cell = THUMB_SIZE, gap = 6): Promise<Buffer> {
  const n = Math.max(1, thumbs.length);
  const cols = Math.min(10, n);
  const rows = Math.ceil(n / cols);
  const width = cols * (cell + gap) + gap;
  const height = rows * (cell + gap) + gap;
  const layers: OverlayOptions[] = [];
  for (let i = 0; i < thumbs.length; i++) {
    const t = thumbs[i]!;
    const x = gap + (i % cols) * (cell + gap);
    const y = gap + Math.floor(i / cols) * (cell + gap);
    if (t.flagged) {
      layers.push({ input: { create: { width: cell, height: cell, channels: 3, background: '#d64545' } }, left: x, top: y });
    }
    const inner = t.flagged ? cell - 8 : cell;
    const fitted = await sharp(t.jpeg).resize(inner, inner, { fit: 'contain', background: '#2b2f38' }).png().toBuffer();
    layers.push({ input: fitted, left: x + (cell - inner) / 2, top: y + (cell - inner) / 2 });
  }
  return sharp({ create: { width, height, channels: 3, background: '#f0f2f5' } })
    .composite(layers)
    .png({ compressionLevel: 7 })
    .toBuffer();
}

/**
 * Resolve `out` to the two file names: a path ending in .html is the report (the sheet goes beside it as
 * `<stem>-contact-sheet.png`); anything else is a folder receiving report.html and contact-sheet.png.
 */
export function reportPaths(out: string): { html: string; sheet: string } {
  if (/\.html?$/i.test(out)) {
    const stem = out.replace(/\.html?$/i, '');
    return { html: out, sheet: `${stem}-contact-sheet.png` };
  }
  return { html: path.join(out, 'report.html'), sheet: path.join(out, 'contact-sheet.png') };
}

/** Analyse a project and write its report (see module comment). `out` is already resolved by the path guard. */
export async function writeProjectReport(services: AnalyzeDeps & { now: () => Date }, lora: LoraRecord, out: string, opts: AnalyzeCallOptions = {}): Promise<WrittenReport> {
  const thumbs = new Map<string, Buffer>();
  const notes: string[] = [];
  const analysis = await analyzeProject(services, lora, {
    ...opts,
    onImage: async (rec, small) => {
      if (thumbs.size >= MAX_THUMBS) return;
      const jpeg = await sharp(small.data, { raw: { width: small.width, height: small.height, channels: 3 } })
        .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
        .jpeg({ quality: 72 })
        .toBuffer();
      thumbs.set(rec.key, jpeg);
    },
  });
  if (analysis.analyzed > MAX_THUMBS) notes.push(`Thumbnails are shown for the first ${MAX_THUMBS} of ${analysis.analyzed} images.`);
  const { html, sheet } = reportPaths(out);
  await mkdir(path.dirname(html), { recursive: true });
  const flagged = new Set(analysis.issues.map((i) => i.image_id ?? i.file ?? i.label));
  const sheetItems = analysis.records.slice(0, MAX_SHEET).flatMap((r) => {
    const jpeg = thumbs.get(r.key);
    return jpeg ? [{ jpeg, flagged: flagged.has(r.key) }] : [];
  });
  if (analysis.records.length > MAX_SHEET) notes.push(`The contact sheet shows the first ${MAX_SHEET} of ${analysis.records.length} images.`);
  await atomicWrite(sheet, await contactSheet(sheetItems));
  const captions = new Map<string, string>();
  for (const img of await services.store.loras.listImages(lora.id)) if (img.caption) captions.set(img.id, img.caption);
  const dataUrls = new Map<string, string>();
  for (const [k, v] of thumbs) dataUrls.set(k, `data:image/jpeg;base64,${v.toString('base64')}`);
  const page = renderReportHtml({
    title: `Dataset report: ${lora.name}`,
    subtitle: `trigger "${lora.trigger_word}" · ${lora.asset_type} · ${lora.base_model}`,
    reasoning: analysisReasoning(analysis, lora.name, lora.id),
    analysis,
    thumbs: dataUrls,
    captions,
    contactSheet: path.basename(sheet),
    generatedAt: services.now().toISOString(),
    notes,
  });
  await atomicWrite(html, page);
  return {
    html_path: html,
    contact_sheet_path: sheet,
    html_bytes: Buffer.byteLength(page),
    analysis,
    thumbnails: thumbs.size,
    sheet_images: sheetItems.length,
    notes,
  };
}
