/**
 * Scale rehearsal: the whole pipeline (`npm run demo` as a user runs it) on a generated AWA2-shaped tree, with the
 * time of each phase, the speeds that decide the real run, its peak memory and what it writes.
 *
 *   npm run bench -- awa2 --images 2000 --size 64 --json       # a modest rehearsal (minutes)
 *   npm run bench -- awa2                                      # AWA2's 37,322 images (hours on a CPU)
 *
 * The tree (bench/support/awa2-tree.ts: AWA2's 50 classes in its proportions, photo-like JPEGs of its dimensions)
 * is made once under --dir and reused. The demo runs with --quick (one epoch per phase) at --size px. Then, at 224 px:
 * the training speed (`npm run bench -- train`, SqueezeNet 1.1, batch 16) and the loader's (decode + augment of the
 * tree's photos); from them the original recipe's hours on AWA2 (4 + 2 + 5 + 3 epochs over its 40 seen classes). Keys:
 * images, classes, phases {phase: seconds}, trainImgPerSec224, dataImgPerSec224, estimatedRecipeHours, peakRssMB,
 * bytesWritten {report, checkpoints, indices, app}, indexBuildSec, queryMs.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { bytesUnder } from '../lib/backend/io';
import { readAwa2 } from '../lib/data/awa2';
import { childEnv } from '../lib/env';
import { Rng } from '../lib/data/rng';
import { ImageIndex } from '../lib/search';
import { throughput } from './data';
import { numberFlag, flag, rssMB } from './flags';
import { AWA2_CLASS_COUNTS, AWA2_STANDARD_TEST, makeAwa2Tree } from './support/awa2-tree';

const ROOT = path.resolve(__dirname, '..');
/** The original recipe: stage 1 frozen + unfrozen, stage 2a + 2b. */
const RECIPE_EPOCHS = 4 + 2 + 5 + 3;

/** What {@link runDemo} saw of the demo process. */
export interface DemoRun {
  code: number | null;
  seconds: number;
  /** Peak RSS of the process (VmHWM). */
  peakRssMB: number;
  /** Its RSS (VmRSS) every `pollMs`, at seconds since the start: memory over the run's epochs. */
  rss: { t: number; mb: number }[];
  /** Every stderr line (progress, estimates, tables) at seconds since the start. */
  lines: { t: number; line: string }[];
  stdout: string;
}

/**
 * Runs `npm run demo -- --data <data> --quick --out <out> --json` at `size` px (plus `args`, and DEVISE_* variables in
 * `env`); its stderr lines go to `log`; RSS polled from /proc every `pollMs`.
 */
export function runDemo(data: string, out: string, size: number, log: (line: string) => void, opts: { args?: string[]; env?: Record<string, string>; pollMs?: number } = {}): Promise<DemoRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils/demo.ts'), '--data', data, '--quick', '--out', out, '--json', ...(opts.args ?? [])], {
      cwd: ROOT,
      env: childEnv({ ...opts.env, DEVISE_SIZE: String(size) }),
    });
    let stdout = '';
    let peakKB = 0;
    const rss: DemoRun['rss'] = [];
    const lines: DemoRun['lines'] = [];
    const poll = setInterval(() => {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peakKB = Math.max(peakKB, Number(hwm[1]));
        const cur = /VmRSS:\s+(\d+) kB/.exec(status);
        if (cur) rss.push({ t: now(), mb: Number(cur[1]) / 1024 });
      } catch {
        /* exited between two polls */
      }
    }, opts.pollMs ?? 250);
    let partial = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      const text = partial + String(d);
      const split = text.split('\n');
      partial = split.pop()!;
      for (const l of split) {
        lines.push({ t: now(), line: l });
        log(l);
      }
    });
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, seconds: now(), peakRssMB: Math.round(peakKB / 1024), rss, lines, stdout });
    });
  });
}

/** Training images/s of SqueezeNet 1.1 at 224 px, batch 16 (`npm run bench -- train`, without the PyTorch side). */
function trainSpeed224(): number {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'index.ts'), 'train', '--model', 'squeezenet1_1', '--batch', '16', '--size', '224', '--steps', '3', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: childEnv({ DEVISE_BENCH_NO_TORCH: '1' }),
  });
  if (r.status !== 0) throw new Error(`bench train failed: ${r.stderr.trim().split('\n').pop()}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { imgPerSec: number }).imgPerSec;
}

/** Loader images/s at 224 px (decode, augment, normalise, batch; bench data's measure) over up to `n` of the tree's photos. */
async function dataSpeed224(root: string, n: number): Promise<number> {
  const items = new Rng(3).shuffle(readAwa2(root).items.slice()).slice(0, n);
  return throughput(items, [...new Set(items.map((it) => it.label))], 224, 16, 1);
}

/** Build seconds of an hnswlib index of `n` random `dim`-d vectors, and ms per 10-NN query on the run's own index. */
function indexTimes(indexDir: string, n: number): { indexBuildSec: number; queryMs: number; dim: number } {
  const run = ImageIndex.load(indexDir);
  const queries = Math.min(200, run.size);
  let t0 = performance.now();
  for (let i = 0; i < queries; i++) run.imageToImage(i, 10);
  const queryMs = (performance.now() - t0) / Math.max(1, queries);
  const rng = new Rng(5);
  const vectors = Array.from({ length: n }, () => Array.from({ length: run.dim }, () => rng.uniform(-1, 1)));
  const fresh = new ImageIndex(run.dim);
  t0 = performance.now();
  fresh.add(vectors, vectors.map((_, i) => ({ label: 'x', path: String(i) })));
  return { indexBuildSec: (performance.now() - t0) / 1000, queryMs, dim: run.dim };
}

/**
 * Hours of the original recipe on AWA2 (its 40 seen classes, 80 % train / 20 % valid) at the measured 224-px speeds:
 * each epoch trains at the slower of model and loader (prefetch overlaps them) and validates at 3× the training speed
 * (a forward pass only); then every one of the 37,322 images is embedded once for the indices.
 */
export function recipeHours(trainImgPerSec: number, dataImgPerSec: number): number {
  const seen = AWA2_CLASS_COUNTS.filter(([c]) => !AWA2_STANDARD_TEST.includes(c)).reduce((n, [, k]) => n + k, 0);
  const all = AWA2_CLASS_COUNTS.reduce((n, [, k]) => n + k, 0);
  const train = Math.min(trainImgPerSec, dataImgPerSec);
  const infer = Math.min(3 * trainImgPerSec, dataImgPerSec);
  const perEpoch = (0.8 * seen) / train + (0.2 * seen) / infer;
  return (RECIPE_EPOCHS * perEpoch + all / infer) / 3600;
}

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const images = numberFlag(argv, 'images', 37_322);
  const size = numberFlag(argv, 'size', 64);
  const dir = flag(argv, 'dir') ?? path.join(os.tmpdir(), `devise-awa2-${images}`);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await initBackend();
  say(`tree: ${images} AWA2-shaped images under ${dir} (made once, then reused)`);
  const tree = await makeAwa2Tree(dir, { images, onProgress: (done, total) => say(`  ${done} / ${total} images`) });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-awa2-report-'));
  say(`demo --quick at ${size} px into ${out}`);
  const demo = await runDemo(dir, out, size, (l) => say(`  | ${l}`));
  if (demo.code !== 0) throw new Error(`the demo failed (exit ${demo.code}); its output is above; report folder ${out}`);
  const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { seconds?: Record<string, number> };
  const { total: _pipeline, ...phases } = metrics.seconds ?? {};
  const counted = Object.values(phases).reduce((a, b) => a + b, 0);
  phases.other = Math.max(0, demo.seconds - counted); // start-up, the report and its figures, the app
  phases.total = demo.seconds;
  const runDir = path.join(out, 'run');
  const bytesWritten = {
    report: bytesUnder(out) - bytesUnder(runDir) - bytesUnder(path.join(out, 'app')),
    checkpoints: bytesUnder(path.join(runDir, 'models')),
    indices: bytesUnder(path.join(runDir, 'search')),
    app: bytesUnder(path.join(out, 'app')),
  };
  say('index: build and query times');
  const index = indexTimes(path.join(runDir, 'search', 'images'), images);
  say('speeds at 224 px: training (bench train) and the loader');
  const trainImgPerSec224 = trainSpeed224();
  const dataImgPerSec224 = await dataSpeed224(dir, Math.min(256, images));
  return {
    images: tree.images,
    classes: tree.classes,
    size,
    treeMB: Math.round(tree.bytes / 1e6),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    trainImgPerSec224: Math.round(trainImgPerSec224 * 10) / 10,
    dataImgPerSec224: Math.round(dataImgPerSec224 * 10) / 10,
    estimatedRecipeHours: Math.round(recipeHours(trainImgPerSec224, dataImgPerSec224) * 10) / 10,
    peakRssMB: demo.peakRssMB,
    bytesWritten,
    indexBuildSec: Math.round(index.indexBuildSec * 100) / 100,
    queryMs: Math.round(index.queryMs * 1000) / 1000,
    report: out,
    benchRssMB: rssMB(),
  };
}
