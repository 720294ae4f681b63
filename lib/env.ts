/**
 * The one place that reads the environment (as transformers.js's `env`): every variable the project honours,
 * with its type, default and one line of documentation (`npm run info` prints the table). Nothing else in lib/,
 * utils/ or bench/ touches `process.env` (test/lib-imports.test.ts checks it). Values are read when asked for, so
 * a variable set before a call is seen by it; a malformed value is an error that names the variable.
 *
 *   import { env, userPath } from './lib/env';             // from the repo root
 *   const threads = env.threads ?? os.cpus().length;      // DEVISE_THREADS
 *   const data = userPath('~/AwA2');                        // the one path rule
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './settings';

/** One variable: its name, what it means, its default in words, and how its text becomes a value. */
interface Variable<T> {
  name: string;
  doc: string;
  default: string;
  parse(raw: string): T;
}

const text = (name: string, doc: string, dflt = '(unset)'): Variable<string> => ({ name, doc, default: dflt, parse: (raw) => raw });
const flagVar = (name: string, doc: string): Variable<boolean> => ({ name, doc, default: 'off', parse: (raw) => raw === '1' || raw === 'true' });
const pathVar = (name: string, doc: string, dflt = '(unset)'): Variable<string> => ({ name, doc, default: dflt, parse: (raw) => userPath(raw) });

function integer(name: string, doc: string, min: number, max = Infinity, dflt = '(unset)'): Variable<number> {
  return {
    name, doc, default: dflt,
    parse(raw) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}='${raw}' must be a whole number ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}.`);
      return n;
    },
  };
}

function choice<C extends string>(name: string, doc: string, choices: readonly C[], dflt = '(unset)'): Variable<C> {
  return {
    name, doc, default: dflt,
    parse(raw) {
      if (!(choices as readonly string[]).includes(raw)) throw new Error(`${name}='${raw}' must be one of: ${choices.join(', ')}.`);
      return raw as C;
    },
  };
}

/** Every variable, by the field of `env` that reads it. */
const VARIABLES = {
  // The run (notebooks and `npm run demo`; a command's flags win over these).
  data: pathVar('DEVISE_DATA', 'an AWA2 root (JPEGImages/, classes.txt, trainclasses.txt, testclasses.txt) or train/ valid/ test/ folders', 'data_samples/'),
  arch: text('DEVISE_ARCH', 'the backbone (squeezenet1_1, resnet34, …; see the model registry)', 'squeezenet1_1'),
  weights: { name: 'DEVISE_WEIGHTS', doc: 'pretrained weights (.pth, .h5 or a TF.js folder); `none` for random initialisation', default: 'the downloaded or shipped file', parse: (raw: string): string | null => (raw === 'none' ? null : userPath(raw)) },
  labels: { name: 'DEVISE_LABELS', doc: 'the label space: a source name (word2vec, glove100, glove, wordnet, attributes, …) or a .vec file', default: 'word2vec', parse: (raw: string): string => (/[/\\]|\.vec$|\.txt$/.test(raw) ? userPath(raw) : raw) },
  size: integer('DEVISE_SIZE', 'image size in pixels', 1, Infinity, '224 (64 in smoke mode)'),
  bs: integer('DEVISE_BS', 'batch size', 1, Infinity, '16'),
  perClass: integer('DEVISE_PER_CLASS', 'at most this many images per class (the first in path order): a quick run on a big dataset', 1, Infinity, 'every image'),
  seed: integer('DEVISE_SEED', 'the seed of the split, augmentation and initialisation', 0, Infinity, '0'),
  epochs: {
    name: 'DEVISE_EPOCHS', doc: 'epochs of the four phases: stage1,stage1Unfrozen,stage2a,stage2b', default: '4,2,5,3',
    parse(raw: string): [number, number, number, number] {
      const n = raw.split(',').map(Number);
      if (n.length !== 4 || n.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`DEVISE_EPOCHS='${raw}' must be four whole numbers: stage1,stage1Unfrozen,stage2a,stage2b (e.g. 4,2,5,3).`);
      return n as [number, number, number, number];
    },
  },
  split: choice('DEVISE_SPLIT', "AWA2's zero-shot split", ['standard', 'proposed'] as const, 'standard'),
  smoke: flagVar('DEVISE_SMOKE', 'tiny CI mode: 64 px, single epochs (=1)'),
  out: pathVar('DEVISE_OUT', 'the run folder for checkpoints, indices and the report', 'models/run-<arch>'),
  run: pathVar('DEVISE_RUN', 'the run the Quickstart notebook opens', "the SqueezeNet notebook's run, else the newest demo report"),
  // The backend and its threads.
  backend: text('DEVISE_BACKEND', 'force a tfjs backend: tensorflow, wasm or cpu', 'the best available'),
  threads: integer('DEVISE_THREADS', 'threads of the native kernels (oneDNN/OpenMP)', 1, Infinity, 'one per core'),
  wasmThreads: integer('DEVISE_WASM_THREADS', "threads of tfjs-wasm's XNNPACK pool (1 turns threads off)", 1, 4, '1 with native kernels, else DEVISE_THREADS up to 4'),
  native: choice('DEVISE_NATIVE', 'the native oneDNN kernels: 0 hides them, 1 requires them', ['0', '1'] as const, 'used when built'),
  nativeFormat: choice('DEVISE_NATIVE_FORMAT', "the convolutions' activation layout", ['nhwc', 'any', 'auto'] as const, 'nhwc'),
  nativeWinograd: choice('DEVISE_NATIVE_WINOGRAD', 'Winograd for 3×3 stride-1 convolutions where oneDNN has it: 0 turns it off', ['0', '1'] as const, '1'),
  tfIntraOpThreads: integer('TF_NUM_INTRAOP_THREADS', "TensorFlow's own intra-op pool (the tfjs-node backend)", 1, Infinity, 'one per core'),
  // Tools around the run.
  chromium: pathVar('DEVISE_CHROMIUM', 'the Chromium that renders figures and runs the browser tests', '/usr/bin/chromium'),
  debug: flagVar('DEVISE_DEBUG', 'print the stack trace of a command that fails (=1)'),
  shared: pathVar('DEVISE_SHARED', 'the folder of third-party data beside the project (benchmarks, tests)', '../shared'),
  torchPython: pathVar('DEVISE_TORCH_PYTHON', 'the Python whose torch the benchmarks compare against', '/usr/bin/python3'),
  benchNoTorch: flagVar('DEVISE_BENCH_NO_TORCH', 'benchmarks skip the PyTorch side (=1)'),
  jupyterDataDir: pathVar('JUPYTER_DATA_DIR', "Jupyter's data folder (where `npm run kernel` writes the kernelspec)", '`jupyter --data-dir`'),
  xdgDataHome: pathVar('XDG_DATA_HOME', 'the per-user data folder Jupyter falls back to', '~/.local/share'),
} as const;

type Env = { readonly [K in keyof typeof VARIABLES]: ReturnType<(typeof VARIABLES)[K]['parse']> | undefined };

/** The environment, one typed field per variable (undefined when unset or empty). */
export const env: Env = Object.defineProperties({} as Env, Object.fromEntries(Object.entries(VARIABLES).map(([key, v]) => [key, {
  enumerable: true,
  get: () => {
    const raw = process.env[v.name];
    return raw === undefined || raw === '' ? undefined : (v as Variable<unknown>).parse(raw);
  },
}])));

/** The table of variables, for `npm run info` and the README. */
export const ENV_VARIABLES: { name: string; doc: string; default: string; value: string | undefined }[] = Object.values(VARIABLES).map((v) => ({
  name: v.name, doc: v.doc, default: v.default, get value() { return process.env[v.name] || undefined; },
}));

/** Whether the user set `name` to something (an empty value counts as unset, as for the DEVISE_* variables). */
export function isSet(name: string): boolean {
  return Boolean(process.env[name]);
}

/** Sets variables for this process and its children (a command's `--backend` flag chooses DEVISE_NATIVE this way). */
export function setEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/** The environment for a child process: this one's, with `extra` set (undefined removes a variable). */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/**
 * Runs `load` with variables set only if the user has not set any of `unlessSet`, then restores them: for a
 * library that reads its environment once when loaded (libgomp's spin-wait, read when the native addon loads).
 */
export function withEnvDefaults<T>(values: Record<string, string>, unlessSet: string[], load: () => T): T {
  if (unlessSet.some((name) => process.env[name] !== undefined)) return load();
  setEnv(values);
  try {
    return load();
  } finally {
    setEnv(Object.fromEntries(Object.keys(values).map((name) => [name, undefined])));
  }
}

/**
 * The directory the user started in: where they typed `npm run x` (npm's INIT_CWD, trusted only in the process npm
 * started for that script: a child of `npm test` inherits it too), else the shell's PWD (a notebook kernel runs in
 * notebooks/ but inherits the PWD of the shell that started Jupyter), else the working directory.
 */
export function userCwd(): string {
  const init = process.env.INIT_CWD;
  const script = process.env.npm_lifecycle_script ?? '';
  const entry = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : '';
  if (init && entry && script.includes(entry.split(path.sep).join('/'))) return init;
  const pwd = process.env.PWD;
  return pwd && path.isAbsolute(pwd) && fs.existsSync(pwd) ? pwd : process.cwd();
}

/**
 * The one path rule, for flags and variables alike: `~/` is the home folder; a relative path is taken from where
 * the user started (`userCwd`), or from the repository root when it exists there and not in the first.
 */
export function userPath(raw: string): string {
  if (raw === '~' || raw.startsWith('~/')) return path.join(os.homedir(), raw.slice(2));
  if (path.isAbsolute(raw)) return raw;
  const fromStart = path.resolve(userCwd(), raw);
  const fromRoot = path.resolve(ROOT, raw);
  return fs.existsSync(fromStart) || !fs.existsSync(fromRoot) ? fromStart : fromRoot;
}

/** The shared third-party data folder (`DEVISE_SHARED`, else `../shared` beside the repository). */
export function sharedDir(): string {
  return env.shared ?? path.resolve(ROOT, '..', 'shared');
}
