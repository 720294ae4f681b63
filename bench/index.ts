/**
 * Benchmark entry: `npm run bench -- <name> [flags]` runs `bench/<name>.ts`, which exports
 * `run(argv: string[]): Promise<object>`; the result is printed as one JSON object (with `--json`)
 * or as indented JSON for people. Each benchmark's flags are declared here (or exported by the module as
 * `flags`), so `--help` lists them and a mistyped flag is an error instead of being ignored.
 *
 *   npm run bench -- train --model squeezenet1_1 --batch 16 --size 224 --json
 *   npm run bench -- train --help
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineCli, type FlagSpecs, runCli } from '../lib/cli';

export type BenchFn = (argv: string[]) => Promise<Record<string, unknown>>;

const JSON_FLAG: FlagSpecs = { json: { type: 'boolean', description: 'print one JSON object (else indented JSON)' } };
const BACKEND: FlagSpecs = { backend: { type: 'string', choices: ['native', 'wasm', 'cpu', 'tensorflow'], description: 'backend (native: wasm + oneDNN kernels; default: what initBackend picks)' } };
const MODEL: FlagSpecs = {
  model: { type: 'string', default: 'squeezenet1_1', choices: ['squeezenet1_1', 'resnet34'], description: 'architecture' },
  batch: { type: 'integer', default: 16, description: 'batch size' },
  size: { type: 'integer', default: 224, placeholder: '<px>', description: 'input size' },
  steps: { type: 'integer', default: 5, description: 'timed steps (after one warm-up)' },
  profile: { type: 'boolean', description: 'add per-kernel milliseconds' },
  ...BACKEND,
};

/** Flags of each benchmark, with the defaults its module uses. */
const BENCH_FLAGS: Record<string, { summary: string; flags: FlagSpecs; example: string }> = {
  train: { summary: 'training steps per second of a model on one random batch, its GFLOP/s and fraction of peak (and PyTorch 1.13 / the venv\'s on the same shapes)', flags: MODEL, example: 'npm run bench -- train --model squeezenet1_1 --batch 16 --size 224 --json' },
  infer: { summary: 'inference throughput of a model on one random batch, its GFLOP/s and fraction of peak (and PyTorch 1.13 / the venv\'s on the same shapes)', flags: MODEL, example: 'npm run bench -- infer --model resnet34 --batch 16 --size 128 --json' },
  data: {
    summary: 'the image loader (decode, augment, batch) against a simulated training step',
    flags: {
      size: { type: 'integer', default: 224, placeholder: '<px>', description: 'image size' },
      n: { type: 'integer', default: 256, description: 'images' },
      bs: { type: 'integer', default: 32, description: 'batch size' },
      epochs: { type: 'integer', default: 2, description: 'epochs' },
      'step-ms': { type: 'number', default: 1000, description: 'simulated training step (ms)' },
    },
    example: 'npm run bench -- data --n 128 --json',
  },
  search: {
    summary: 'hnswlib index build and query speed and recall against brute force',
    flags: {
      n: { type: 'integer', default: 37_322, description: 'indexed vectors' },
      dim: { type: 'integer', default: 300, description: 'dimension' },
      latent: { type: 'integer', default: 0, description: 'latent dimension of the synthetic data (0: uniform)' },
      queries: { type: 'integer', default: 200, description: 'queries' },
      M: { type: 'integer', default: 16, description: 'HNSW M' },
      efConstruction: { type: 'integer', default: 100, description: 'HNSW efConstruction' },
      ef: { type: 'integer', default: 64, description: 'HNSW ef at query time' },
      'no-sweep': { type: 'boolean', description: 'skip the ef sweep' },
    },
    example: 'npm run bench -- search --n 10000 --json',
  },
  vectors: {
    summary: 'the .vec reader and its binary cache on a synthetic file',
    flags: {
      lines: { type: 'integer', default: 400_000, description: 'rows of the synthetic .vec' },
      dim: { type: 'integer', default: 300, description: 'dimension' },
      keep: { type: 'integer', default: 1000, description: 'rows kept' },
      cache: { type: 'boolean', description: 'also build and reopen the .dvv cache' },
    },
    example: 'npm run bench -- vectors --lines 100000 --json',
  },
  onnx: { summary: 'onnxruntime-node on torchvision\'s ONNX export against this project\'s inference, same run and threads', flags: {}, example: 'npm run bench -- onnx --ort /tmp/ort --model squeezenet1_1 --json' },
  peak: { summary: "this CPU's attainable fp32 GFLOP/s at 1 and 2 threads (oneDNN sgemm and convolution): the roofline of train/infer", flags: {}, example: 'npm run bench -- peak --json' },
  app: { summary: 'the search app in headless Chromium at 390×844, per backend the page can start: load ms, query ms, GFLOP/s, bytes fetched, wasm threads', flags: {}, example: 'npm run bench -- app --json' },
  awa2: {
    summary: 'scale rehearsal: the demo on a generated AWA2-shaped tree (time per phase, peak RSS, bytes written, 224-px speeds, the recipe\'s hours on AWA2)',
    flags: {
      images: { type: 'integer', default: 37_322, description: "images of the generated tree (AWA2's count by default)" },
      size: { type: 'integer', default: 64, placeholder: '<px>', description: 'image size of the rehearsal run (the 224-px speeds are measured apart)' },
      dir: { type: 'path', placeholder: '<path>', description: 'where the tree is made once and reused (default <tmp>/devise-awa2-<images>)' },
    },
    example: 'npm run bench -- awa2 --images 2000 --size 64 --json',
  },
  table: {
    summary: "the README's performance table: native, wasm and PyTorch per row, each tfjs side in its own process",
    flags: {
      rows: { type: 'string', placeholder: '<model:mode:px:threads,...>', description: 'rows (default: the README table)' },
      batch: { type: 'integer', default: 16, description: 'batch size' },
      steps: { type: 'integer', default: 3, description: 'timed steps per side' },
    },
    example: 'npm run bench -- table --rows squeezenet1_1:train:224:1 --json',
  },
};

const available = fs.readdirSync(__dirname).filter((f) => f.endsWith('.ts') && !['index.ts', 'flags.ts'].includes(f) && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3)).sort();

const top = defineCli({
  command: 'npm run bench --',
  summary: 'Benchmarks, one JSON object each. `npm run bench -- <name> --help` lists the flags of one.',
  positionals: `<${available.join('|')}>`,
  commands: Object.fromEntries(available.map((n) => [n, BENCH_FLAGS[n]?.summary ?? `bench/${n}.ts`])),
  flags: {},
  examples: available.filter((n) => BENCH_FLAGS[n]).slice(0, 3).map((n) => BENCH_FLAGS[n]!.example),
});

/** Turns parsed values back into `--name value` / `--name` tokens (the form bench/flags.ts reads). */
function normalise(flags: FlagSpecs, values: Record<string, unknown>, given: Set<string>): string[] {
  const out: string[] = [];
  for (const name of given) {
    if (flags[name]?.type === 'boolean') {
      if (values[name]) out.push(`--${name}`);
    } else out.push(`--${name}`, String(values[name]));
  }
  return out;
}

runCli(async () => {
  const argv = process.argv.slice(2);
  const name = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  if (!name || !available.includes(name)) return void top.parse(argv); // --help, or the unknown-command error
  const mod = (await import(path.join(__dirname, `${name}.ts`))) as { run: BenchFn; flags?: FlagSpecs };
  const entry = BENCH_FLAGS[name];
  const flags: FlagSpecs = { ...(mod.flags ?? entry?.flags ?? {}), ...JSON_FLAG };
  const cli = defineCli({ command: `npm run bench -- ${name}`, summary: entry?.summary ?? `bench/${name}.ts`, flags, examples: [entry?.example ?? `npm run bench -- ${name} --json`] });
  const { values, given } = cli.parse(argv.slice(1));
  const result = await mod.run(normalise(flags, values as Record<string, unknown>, given as Set<string>));
  console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
});
