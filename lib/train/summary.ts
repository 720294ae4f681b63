/**
 * The notebooks' conclusion: accuracy and measured size of every backbone, side by side. Each notebook run
 * writes its row to `<run>/summary.json`; the table reads the rows of the sibling runs (models/run-<arch>),
 * and measures each backbone's size by saving its embedding model to disk.
 *
 *   await show(await backboneSummary(cfg.out, { arch: 'squeezenet1_1', stage1Accuracy: 0.8, stage2Top1: 0.7 }));
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARCHS, type Arch, createModel, modelSummary, saveModel } from '../models/index';

/** What one run measured. */
export interface RunSummary {
  arch: Arch;
  stage1Accuracy?: number;
  stage2Top1?: number;
  zeroShotTop1?: number;
  /** Generalised zero-shot: harmonic mean of seen and unseen accuracy with calibrated stacking. */
  calibratedH?: number;
  /** Settings that produced it (e.g. 'data_samples, 224 px, pretrained'). */
  settings?: string;
}

/** Bytes on disk of `arch` with a `dim`-d embedding head, saved as a TF.js model (model.json + weights). */
export async function savedModelBytes(arch: Arch, dim = 300): Promise<{ bytes: number; params: number }> {
  const m = await createModel(arch, { head: 'embedding', dim, inputSize: 64 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-size-'));
  try {
    await saveModel(m, dir);
    const bytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    return { bytes, params: modelSummary(m).params };
  } finally {
    m.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A percentage with one decimal, or 'not run' when the run did not measure it. */
const pct = (v: number | undefined): number | string => (v === undefined ? 'not run' : Number((100 * v).toFixed(1)));

/** One backbone's row of the conclusion table (percentages as numbers, 'not run' where its notebook has not run). */
export type BackboneRow = Record<string, string | number> & { backbone: Arch; 'size on disk (MB)': number };

/**
 * Records `mine` in `<out>/summary.json` and returns one row per backbone of `archs` (default every registered one):
 * accuracy from each run's summary (the sibling run folders models/run-<arch>), size measured with a `dim`-d head.
 */
export async function backboneSummary(out: string, mine: RunSummary, dim = 300, archs: Arch[] = Object.keys(ARCHS) as Arch[]): Promise<BackboneRow[]> {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(mine, null, 2)}\n`);
  const rows: BackboneRow[] = [];
  for (const arch of archs) {
    const file = arch === mine.arch ? path.join(out, 'summary.json') : path.join(path.dirname(out), `run-${arch}`, 'summary.json');
    const s: RunSummary | undefined = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
    const size = await savedModelBytes(arch, dim);
    rows.push({
      backbone: arch,
      'parameters (M)': Number((size.params / 1e6).toFixed(2)),
      'size on disk (MB)': Number((size.bytes / 1e6).toFixed(1)),
      'stage-1 accuracy (%)': pct(s?.stage1Accuracy),
      'stage-2 top-1 (%)': pct(s?.stage2Top1),
      'zero-shot top-1 (%)': pct(s?.zeroShotTop1),
      'calibrated H (%)': pct(s?.calibratedH),
      settings: s?.settings ?? '',
    });
  }
  return rows;
}

/** The conclusion in words, from the rows: how `small` compares with `large` in accuracy and size (one run each). */
export function describeBackbones(rows: BackboneRow[], small: Arch, large: Arch): string {
  const a = rows.find((r) => r.backbone === small);
  const b = rows.find((r) => r.backbone === large);
  if (!a || !b) return `No row for ${!a ? small : large}.`;
  const size = `${small} is ${((100 * a['size on disk (MB)']) / b['size on disk (MB)']).toFixed(1)} % of ${large}'s size on disk (${a['size on disk (MB)']} MB against ${b['size on disk (MB)']} MB)`;
  const metrics = ['stage-1 accuracy (%)', 'stage-2 top-1 (%)', 'zero-shot top-1 (%)', 'calibrated H (%)'];
  const missing = [a, b].filter((r) => typeof r['stage-2 top-1 (%)'] !== 'number').map((r) => r.backbone);
  if (missing.length) return `${size}; accuracies cannot be compared until ${missing.join(' and ')} has run here (its notebook with the same settings).`;
  const sameSettings = a.settings === b.settings ? '' : ` (at different settings: ${a.settings} against ${b.settings})`;
  const diffs = metrics.map((m) => {
    const d = (a[m] as number) - (b[m] as number);
    return `${m.replace(' (%)', '')} ${a[m]} against ${b[m]} (${d >= 0 ? '+' : ''}${d.toFixed(1)} points)`;
  });
  const wins = metrics.filter((m) => (a[m] as number) >= (b[m] as number)).length;
  return `${size}. One run each${sameSettings}: ${diffs.join('; ')}. ${small} is at least as accurate on ${wins} of ${metrics.length} measures; one seed cannot separate differences of a few points (the 3-seed table below can).`;
}
