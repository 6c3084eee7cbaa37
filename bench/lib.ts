/** Small helpers for `npm run bench`: figures and ratios, never pass/fail. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export async function timeIt(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export interface Figure {
  section: string;
  name: string;
  value: number;
  unit: string;
  target?: string;
  note?: string;
}

export interface BenchReport {
  add(f: Figure): void;
  figures: Figure[];
}

export function createReport(): BenchReport {
  const figures: Figure[] = [];
  return {
    figures,
    add(f) {
      figures.push(f);
      const v = Math.abs(f.value) >= 100 ? f.value.toFixed(0) : f.value.toFixed(2);
      console.log(`${f.section.padEnd(12)} ${f.name.padEnd(52)} ${v.padStart(10)} ${f.unit.padEnd(8)}${f.target ? ` target ${f.target}` : ''}${f.note ? `  (${f.note})` : ''}`);
    },
  };
}

/** Sections: each adds figures to the report. */
export type BenchSection = (report: BenchReport) => Promise<void>;
