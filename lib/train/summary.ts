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

const pct = (v: number | undefined) => (v === undefined ? 'not run' : `${(100 * v).toFixed(1)}%`);

/** Records `mine` in `<out>/summary.json` and returns one row per backbone (accuracy from each run's summary, size measured). */
export async function backboneSummary(out: string, mine: RunSummary, dim = 300): Promise<Record<string, string | number>[]> {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(mine, null, 2)}\n`);
  const rows: Record<string, string | number>[] = [];
  for (const arch of Object.keys(ARCHS) as Arch[]) {
    const file = arch === mine.arch ? path.join(out, 'summary.json') : path.join(path.dirname(out), `run-${arch}`, 'summary.json');
    const s: RunSummary | undefined = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
    const size = await savedModelBytes(arch, dim);
    rows.push({
      backbone: arch,
      'parameters (M)': Number((size.params / 1e6).toFixed(2)),
      'size on disk (MB)': Number((size.bytes / 1e6).toFixed(1)),
      'stage-1 accuracy': pct(s?.stage1Accuracy),
      'stage-2 top-1': pct(s?.stage2Top1),
      'zero-shot top-1': pct(s?.zeroShotTop1),
      settings: s?.settings ?? '',
    });
  }
  return rows;
}
