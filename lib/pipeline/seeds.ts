/**
 * Several seeds of one configuration: the headline metrics of each run and their mean ± sample standard deviation,
 * written as `summary.json` and an `index.html` that links every seed's own report.
 *
 *   const s = seedSummary(runs);   s.metrics['gzsl.calibrated.H'];   // { mean, sd, values }
 *   writeSeedsReport('reports/x', runs);
 */
import * as path from 'node:path';
import { writeFileAtomically } from '../backend/io';
import { escapeHtml } from '../html';

/** The metrics.json paths reported as mean ± sd, with their names for people. */
export const HEADLINE_METRICS: Record<string, string> = {
  stage1Accuracy: 'stage-1 accuracy',
  stage2Top1: 'stage-2 top-1 (seen)',
  stage2Top5: 'stage-2 top-5 (seen)',
  zeroShotPerClassTop1: 'zero-shot per-class top-1',
  'gzsl.u': 'GZSL u',
  'gzsl.s': 'GZSL s',
  'gzsl.H': 'GZSL H',
  'gzsl.calibrated.u': 'GZSL calibrated u',
  'gzsl.calibrated.s': 'GZSL calibrated s',
  'gzsl.calibrated.H': 'GZSL calibrated H',
  'gzsl.ausuc': 'AUSUC',
  'csls.zslPerClassTop1': 'zero-shot per-class top-1, CSLS',
  'csls.calibratedH': 'GZSL calibrated H, CSLS',
  'csls.ausuc': 'AUSUC, CSLS',
};

/** Areas (AUSUC) print as numbers, everything else as a percentage. */
export function formatMetric(key: string, v: number): string {
  return /ausuc/.test(key) ? v.toFixed(3) : `${(v * 100).toFixed(1)}%`;
}

/** One finished seed: its seed, its report folder and its metrics.json object. */
export interface SeedRun {
  seed: number;
  report: string;
  metrics: Record<string, unknown>;
}

/** Mean and sample standard deviation (n − 1; 0 for one value). */
export function meanSd(values: number[]): { mean: number; sd: number } {
  const n = values.length;
  if (!n) return { mean: NaN, sd: NaN };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

function at(obj: unknown, dotted: string): number | null {
  const v = dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
  return typeof v === 'number' ? v : null;
}

/** The headline metrics over seeds: values per seed, mean and sd (metrics a run did not report are left out). */
export function seedSummary(runs: SeedRun[]): { seeds: number[]; metrics: Record<string, { mean: number; sd: number; values: number[] }> } {
  const metrics: Record<string, { mean: number; sd: number; values: number[] }> = {};
  for (const key of Object.keys(HEADLINE_METRICS)) {
    const values = runs.map((r) => at(r.metrics, key));
    if (values.some((v) => v === null)) continue;
    metrics[key] = { ...meanSd(values as number[]), values: values as number[] };
  }
  return { seeds: runs.map((r) => r.seed), metrics };
}

/** Writes `summary.json` and `index.html` (mean ± sd table, one column per seed, links to each seed's report). */
export function writeSeedsReport(dir: string, runs: SeedRun[]): { summary: ReturnType<typeof seedSummary>; files: string[] } {
  const summary = seedSummary(runs);
  writeFileAtomically(path.join(dir, 'summary.json'), JSON.stringify({ ...summary, reports: runs.map((r) => path.relative(dir, r.report)) }, null, 2) + '\n');
  const head = `<tr><th>metric</th><th>mean ± sd</th>${runs.map((r) => `<th><a href="${escapeHtml(path.relative(dir, path.join(r.report, 'index.html')))}">seed ${r.seed}</a></th>`).join('')}</tr>`;
  const rows = Object.entries(summary.metrics).map(([k, m]) => `<tr><td>${escapeHtml(HEADLINE_METRICS[k]!)}</td><td>${formatMetric(k, m.mean)} ± ${formatMetric(k, m.sd)}</td>${m.values.map((v) => `<td>${formatMetric(k, v)}</td>`).join('')}</tr>`).join('\n');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>DeViSE over ${runs.length} seeds</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}td,th{padding:.2em .8em;text-align:left}</style></head>
<body><h1>DeViSE over ${runs.length} seeds (${summary.seeds.join(', ')})</h1>
<p>Each seed changes the initial head weights, the Dropout masks, the train/valid split, the augmentation and the batch order; everything else is equal.
Mean ± sample standard deviation over the seeds; each seed's full report is linked in its column.</p>
<table>${head}
${rows}</table>
</body></html>
`;
  writeFileAtomically(path.join(dir, 'index.html'), html);
  return { summary, files: ['summary.json', 'index.html'] };
}
