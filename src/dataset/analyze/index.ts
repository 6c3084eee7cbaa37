/**
 * Entry points for analysing a project or a folder, and the reasoning a person reads.
 */
import { LoraloopError } from '../../core/errors.js';
import type { PathGuard } from '../../core/paths.js';
import type { Store } from '../../store/index.js';
import type { LoraImageRecord, LoraRecord } from '../../store/repos/loras.js';
import type { PeopleDetector } from '../people/detector.js';
import type { CoinSpotter } from '../ports.js';
import type { BaseModel } from '../../image/metrics.js';
import { analyzeImages, type AnalyzeOptions, type DatasetAnalysis } from './analyze.js';
import type { IssueKind } from './checks.js';
import { volumeAdvice } from './gaps.js';
import { dirSource, loraSource } from './sources.js';
import { targetsFor, type TargetRange } from './taxonomy.js';

export type { DatasetAnalysis } from './analyze.js';

/** Options shared by both entry points. */
export type AnalyzeCallOptions = Pick<AnalyzeOptions, 'signal' | 'onProgress' | 'onImage' | 'concurrency'> & {
  /** Target ranges (percent) overriding the project's or the defaults. */
  targets?: Record<string, TargetRange>;
};

/** What a folder analysis needs: the coin detector (coin sets) and the people detector (shot typing). */
export interface AnalyzeFolderDeps {
  coins: { detector: CoinSpotter };
  people: PeopleDetector;
}

/** What a project analysis needs besides: the project's images and the guard over their original paths. */
export interface AnalyzeDeps extends AnalyzeFolderDeps {
  store: Pick<Store, 'loras' | 'blobs'>;
  paths: PathGuard;
}

/** The project by id or name, or NOT_FOUND. */
export async function requireLora(services: { store: Pick<Store, 'loras'> }, loraId: string): Promise<LoraRecord> {
  const lora = await services.store.loras.find(loraId);
  if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${loraId}".`, { hint: 'Call lora_list to see the projects and their ids.' });
  return lora;
}

/** Analyse a project's training images (excluded ones left out). */
export async function analyzeProject(services: AnalyzeDeps, lora: LoraRecord, opts: AnalyzeCallOptions = {}): Promise<DatasetAnalysis> {
  const images = await services.store.loras.listImages(lora.id);
  // The original of a local upload, if it is still there and still allowed (URLs and derived images have none).
  const originalPath = async (img: LoraImageRecord): Promise<string | null> => {
    const local = img.source.startsWith('/') || !/^[a-z][a-z0-9+.-]*:/i.test(img.source);
    return local ? services.paths.resolve(img.source, { mustExist: true }) : null;
  };
  return analyzeImages(loraSource(services.store.blobs, images, originalPath), {
    ...opts,
    baseModel: lora.base_model,
    assetType: lora.asset_type,
    coins: lora.coins,
    targets: opts.targets ?? targetsFor(lora.asset_type, lora.targets),
    detector: services.coins.detector,
    people: services.people,
  });
}

/** Analyse the image files under a folder the path guard already resolved. */
export async function analyzeFolder(
  services: AnalyzeFolderDeps,
  dir: string,
  opts: AnalyzeCallOptions & { baseModel?: BaseModel; assetType?: string; coins?: string[] } = {},
): Promise<DatasetAnalysis> {
  const assetType = opts.assetType ?? 'character';
  return analyzeImages(dirSource(dir), {
    ...opts,
    baseModel: opts.baseModel ?? 'flux',
    assetType,
    coins: opts.coins ?? [],
    targets: opts.targets ?? targetsFor(assetType, null),
    detector: services.coins.detector,
    people: services.people,
  });
}

const KIND_LABEL: Record<IssueKind, string> = {
  broken: 'broken',
  low_resolution: 'low resolution',
  blurry: 'blurry',
  too_dark: 'too dark',
  too_bright: 'too bright',
  low_information: 'low information',
  odd_aspect: 'odd aspect',
  greyscale: 'greyscale in a colour set',
  jpeg_artifacts: 'JPEG artefacts',
  duplicate: 'duplicates',
};

/** Issue counts by kind, most frequent first: "5 blurry, 2 too dark". */
export function issueSummary(a: DatasetAnalysis): string {
  const counts = new Map<IssueKind, number>();
  for (const i of a.issues) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
  return [...counts]
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `${n} ${KIND_LABEL[k]}`)
    .join(', ');
}

/** What a person reads: the volume, the worst gaps with numbers, the issues, and the next step. */
export function analysisReasoning(a: DatasetAnalysis, subject: string, loraId?: string): string {
  if (a.images === 0) return `${subject} has no images to analyse. Add images first (lora_upload_images, or put files in the folder).`;
  const parts: string[] = [];
  const dupExtra = a.analyzed - a.usable;
  parts.push(
    `Analysed ${a.analyzed} of ${a.images} images of ${subject}${a.broken ? ` (${a.broken} broken: ${a.issues.filter((i) => i.kind === 'broken').slice(0, 3).map((i) => i.label).join(', ')}${a.broken > 3 ? ', ...' : ''})` : ''}${dupExtra ? `; ${a.duplicates.length} duplicate group${a.duplicates.length === 1 ? '' : 's'} hold ${dupExtra} extra cop${dupExtra === 1 ? 'y' : 'ies'}` : ''}.`,
  );
  parts.push(volumeAdvice(a.usable));
  if (a.typed_from_pixels > 0) {
    parts.push(`${a.typed_from_pixels} image${a.typed_from_pixels === 1 ? '' : 's'} without framing words in tags or caption ${a.typed_from_pixels === 1 ? 'was' : 'were'} typed from the pixels (faces and body keypoints found by the local people detector).`);
  }
  if (a.shot_typing_error) parts.push(`The local people detector could not run (${a.shot_typing_error}), so images without framing words stay unclassified.`);
  const serious = a.gaps.filter((g) => g.severity !== 'low');
  const shown = (serious.length ? serious : a.gaps).slice(0, 3);
  const blind = a.unclassified / Math.max(1, a.analyzed) >= 0.5;
  if (blind) {
    parts.push(
      `Balance cannot be judged yet: ${a.unclassified} of ${a.analyzed} images have no framing word (close-up, medium shot, full-body, far/wide) in their tags, caption or categories, and no person the detector could frame. Caption them with a vision model (caption_write) or tag them, then analyse again; the gaps in data.gaps count them as missing.`,
    );
  } else if (shown.length) {
    parts.push(`Balance: ${shown.map((g) => g.advice).join(' ')}`);
    if (a.gaps.length > shown.length) parts.push(`${a.gaps.length - shown.length} smaller gap${a.gaps.length - shown.length === 1 ? '' : 's'} in data.gaps.`);
  } else if (Object.values(a.categories).some((c) => c.target)) {
    parts.push('Balance: every category is within its target range.');
  }
  if (!blind && a.unclassified > 0 && a.unclassified / Math.max(1, a.analyzed) >= 0.2) {
    parts.push(
      `${a.unclassified} images have no framing word (close-up, medium shot, full-body, far/wide) in their tags, caption or categories and no person the detector could frame, so the balance above is partly blind: caption them with a vision model (caption_write) or tag them.`,
    );
  }
  const summary = issueSummary({ ...a, issues: a.issues.filter((i) => i.kind !== 'broken' && i.kind !== 'duplicate') });
  if (summary) parts.push(`Image issues: ${summary} (each listed in data.issues with what to do).`);
  const next = loraId
    ? `Next: dataset_rebalance {"lora_id": "${loraId}", "strategy": "augment"} for a plan (crops, num_repeats, a collection profile), or dataset_report for a visual report.`
    : 'Next: fix or remove the listed files, then add the images to a project with lora_upload_images.';
  parts.push(next);
  return parts.join(' ');
}
