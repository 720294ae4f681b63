/**
 * The notebooks are TypeScript sources in percent format (`// %%` code cells, `// %% [markdown]` cells whose
 * lines are `// ` comments), type-checked by `npm test`; this tool turns them into .ipynb files, checks that
 * the committed .ipynb files still match them, and executes them (nbclient + the tslab kernel).
 *
 *   npm run notebooks                    # build + execute every notebook (the committed outputs)
 *   npm run notebooks -- build           # write the .ipynb cells from the sources (outputs of unchanged cells kept)
 *   npm run notebooks -- check           # exit 1 when a committed .ipynb no longer matches its source
 *   npm run notebooks -- execute --only 00_Quickstart
 *
 * One source may give several notebooks: a code line ending in `// @param NAME` has its string literal replaced
 * by the notebook's value of NAME, and `{{NAME}}` in markdown is replaced too. The first cell of every
 * notebook says which file it was generated from.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineCli, runCli, UserError } from '../lib/cli';
import { KERNEL_DISPLAY_NAME, KERNEL_NAME } from './kernel';

const ROOT = path.resolve(__dirname, '..');
const DIR = path.join(ROOT, 'notebooks');

/** One generated notebook: its source, its file, the values of the source's parameters, its execution environment. */
export interface NotebookSpec {
  source: string;
  out: string;
  vars: Record<string, string>;
  /** Extra environment for `execute` on the embedded data_samples/ (ignored when DEVISE_DATA is set). */
  sampleEnv?: Record<string, string>;
}

const MAIN = 'notebooks/VisualSemanticModels.nb.ts';
// In execution order: the ResNet34 run first, so the SqueezeNet conclusion has both rows; the Quickstart reads the SqueezeNet run.
export const NOTEBOOKS: NotebookSpec[] = [
  {
    source: MAIN,
    out: 'notebooks/VisualSemanticModels_Resnet34.ipynb',
    vars: {
      ARCH: 'resnet34',
      TITLE: 'ResNet34 (baseline)',
      WHY: 'ResNet34 is the baseline: more accurate on ImageNet, but about 22 M parameters (about 88 MB with the DeViSE head). The cells are those of `VisualSemanticModels_Squeezenet1_1.ipynb`; only the backbone differs. The committed outputs ran at the original\'s settings (224 px, batch 16, the default epochs) from **random weights**: no ResNet34 weights are available offline (`npm run weights -- download resnet34` fetches torchvision\'s ImageNet weights), so its accuracies say what ResNet34 learns from these few photos alone, not what the pretrained baseline reaches.',
    },
    sampleEnv: { DEVISE_WEIGHTS: 'none' },
  },
  {
    source: MAIN,
    out: 'notebooks/VisualSemanticModels_Squeezenet1_1.ipynb',
    vars: {
      ARCH: 'squeezenet1_1',
      TITLE: 'SqueezeNet 1.1',
      WHY: 'SqueezeNet 1.1 reaches AlexNet-level ImageNet accuracy with about 1.2 M parameters: with the DeViSE head it is about 5.6 MB, small enough for a phone. This is the main experiment; `VisualSemanticModels_Resnet34.ipynb` runs the same cells with the ResNet34 baseline.',
    },
  },
  { source: 'notebooks/00_Quickstart.nb.ts', out: 'notebooks/00_Quickstart.ipynb', vars: {} },
];

export interface Cell {
  cell_type: 'code' | 'markdown';
  source: string;
}

/** The cells of a percent-format source, parameters substituted. Text before the first `// %%` is the file's own header (not a cell). */
export function parseCells(text: string, vars: Record<string, string> = {}): Cell[] {
  const cells: Cell[] = [];
  let current: { type: Cell['cell_type']; lines: string[] } | undefined;
  const flush = () => {
    if (!current) return;
    const lines = [...current.lines];
    while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
    while (lines.length && lines[0]!.trim() === '') lines.shift();
    cells.push({ cell_type: current.type, source: lines.join('\n') });
  };
  const sub = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
  for (const line of text.split('\n')) {
    const marker = /^\/\/ %%(?:\s*\[(\w+)\])?\s*$/.exec(line);
    if (marker) {
      flush();
      if (marker[1] && marker[1] !== 'markdown') throw new Error(`Unknown cell kind [${marker[1]}] (use // %% or // %% [markdown])`);
      current = { type: marker[1] ? 'markdown' : 'code', lines: [] };
      continue;
    }
    if (!current) continue;
    if (current.type === 'markdown') {
      if (line.trim() !== '' && !line.startsWith('//')) throw new Error(`Markdown cells hold only // comment lines; got: ${line}`);
      current.lines.push(sub(line.replace(/^\/\/ ?/, '')));
    } else {
      const param = /^(.*?)\s*\/\/ @param (\w+)\s*$/.exec(line);
      if (param) {
        const value = vars[param[2]!];
        if (value === undefined) throw new Error(`No value for @param ${param[2]}`);
        current.lines.push(param[1]!.replace(/'[^']*'/, JSON.stringify(value).replace(/^"|"$/g, "'")));
      } else current.lines.push(line);
    }
  }
  flush();
  return cells.filter((c) => c.source !== '' || c.cell_type === 'code');
}

/** The stamp in the first cell: which file to edit. */
export const stampOf = (spec: NotebookSpec): string => `> Generated from \`${spec.source}\` by \`npm run notebooks\`; edit that file, not this notebook.`;

/** The cells a notebook should have (the stamp prepended to the first cell). */
export function expectedCells(spec: NotebookSpec): Cell[] {
  const cells = parseCells(fs.readFileSync(path.join(ROOT, spec.source), 'utf8'), spec.vars);
  const stamp = stampOf(spec);
  if (cells[0]?.cell_type === 'markdown') cells[0] = { ...cells[0], source: `${stamp}\n\n${cells[0].source}` };
  else cells.unshift({ cell_type: 'markdown', source: stamp });
  return cells;
}

interface NbOutput {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  [key: string]: unknown;
}
interface NbCell {
  cell_type: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  attachments?: Record<string, Record<string, unknown>>;
  outputs?: NbOutput[];
  execution_count?: number | null;
  id?: string;
}
export interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

const joined = (s: string | string[]): string => (Array.isArray(s) ? s.join('') : s);
/** nbformat's on-disk form of a source: lines keeping their newline. */
const splitLines = (s: string): string[] => (s === '' ? [] : s.split(/(?<=\n)/));

/**
 * The notebooks' metadata: the project's kernel, and `language_info` exactly as tslab's kernel_info reply gives it
 * (JupyterLab writes that reply into the notebook when the kernel connects; anything else marks it changed).
 */
export const METADATA = {
  kernelspec: { display_name: KERNEL_DISPLAY_NAME, language: 'typescript', name: KERNEL_NAME },
  language_info: { codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true }, file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript', version: '3.7.2' },
};

/** Python's `str.splitlines(True)`: nbformat splits on every line boundary Python knows, keeping the ends. */
function pySplitLines(s: string): string[] {
  return s.match(/[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|$)/g)!.filter((l) => l !== '');
}

/** A JSON number as Python's `json.dumps` writes it: ints as ints, floats by `repr` (`1e-05`, `1.5e+20`). */
function pyNumber(n: number): string {
  const js = String(n);
  // JSON text without '.' or 'e' was read by Python as an int and is written back unchanged.
  if (Number.isInteger(n) && !/e/.test(js)) return js;
  const [mantissa, exp] = n.toExponential().split('e') as [string, string];
  const e = Number(exp);
  // Python writes exponents outside [-4, 16) (JavaScript: [-7, 21)); inside, both write the same shortest digits.
  return e < -4 || e >= 16 ? `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}` : js;
}

/** `json.dumps(v, indent=1, sort_keys=True, ensure_ascii=False, separators=(',', ': '))`. */
function pyJson(v: unknown, indent = ''): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return pyNumber(v);
  if (typeof v !== 'object') return JSON.stringify(v);
  const inner = `${indent} `;
  if (Array.isArray(v)) return v.length ? `[\n${v.map((x) => inner + pyJson(x, inner)).join(',\n')}\n${indent}]` : '[]';
  const keys = Object.keys(v).sort();
  return keys.length ? `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${pyJson((v as Record<string, unknown>)[k], inner)}`).join(',\n')}\n${indent}}` : '{}';
}

/**
 * A notebook's text exactly as `nbformat.write` (and so a save in JupyterLab) writes it: multi-line strings split
 * into lines where nbformat splits them, transient fields dropped, keys sorted, indent 1, non-ASCII kept, final newline.
 */
export function nbformatText(nb: Notebook): string {
  const split = (s: unknown) => (typeof s === 'string' ? pySplitLines(s) : s);
  const splitBundle = (data: Record<string, unknown> = {}) =>
    Object.fromEntries(Object.entries(data).map(([k, x]) => [k, k.startsWith('text/') || k === 'application/javascript' || k === 'image/svg+xml' ? split(x) : x]));
  const { orig_nbformat: _o, orig_nbformat_minor: _m, signature: _s, ...metadata } = nb.metadata;
  const cells = nb.cells.map((c) => {
    const { trusted: _t, ...cellMeta } = c.metadata ?? {};
    const out: Record<string, unknown> = { ...c, metadata: cellMeta, source: split(c.source) };
    if (c.attachments) out.attachments = Object.fromEntries(Object.entries(c.attachments).map(([k, b]) => [k, splitBundle(b)]));
    if (c.cell_type === 'code' && c.outputs) {
      out.outputs = c.outputs.map((o) => {
        if (o.output_type === 'execute_result' || o.output_type === 'display_data') return o.data ? { ...o, data: splitBundle(o.data) } : o;
        if (o.output_type === 'stream') return { ...o, text: split(o.text) };
        return o;
      });
    }
    return out;
  });
  return `${pyJson({ ...nb, metadata, cells })}\n`;
}

/** Reads a notebook file. */
export const readNotebook = (file: string): Notebook => JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;

/** Writes a notebook in nbformat's canonical form; returns whether the file's bytes changed. */
export function writeNotebook(file: string, nb: Notebook): boolean {
  const text = nbformatText(nb);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return false;
  fs.writeFileSync(file, text);
  return true;
}

/** The differences between a notebook's cells and its source's (empty when they match). */
export function drift(spec: NotebookSpec, nb: Pick<Notebook, 'cells'>): string[] {
  const want = expectedCells(spec);
  const have = nb.cells.map((c) => ({ cell_type: c.cell_type, source: joined(c.source) }));
  const out: string[] = [];
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    const w = want[i];
    const h = have[i];
    if (!w || !h || w.cell_type !== h.cell_type || w.source !== h.source) {
      out.push(`${spec.out} cell ${i + 1}: ${h ? `${h.cell_type} ${JSON.stringify(h.source.slice(0, 60))}` : '(missing)'} ≠ source ${w ? `${w.cell_type} ${JSON.stringify(w.source.slice(0, 60))}` : '(none)'}`);
    }
  }
  return out;
}

/** Writes the notebook's cells from its source; outputs are kept for code cells whose source and every earlier code cell are unchanged. */
export function build(spec: NotebookSpec): { file: string; changed: boolean } {
  const file = path.join(ROOT, spec.out);
  const old: Notebook | undefined = fs.existsSync(file) ? readNotebook(file) : undefined;
  const oldCode = (old?.cells ?? []).filter((c) => c.cell_type === 'code');
  let codeIndex = 0;
  let prefixSame = true;
  const cells: NbCell[] = expectedCells(spec).map((c, i) => {
    const id = `cell-${i}`;
    if (c.cell_type === 'markdown') return { cell_type: 'markdown', id, metadata: {}, source: splitLines(c.source) };
    const prev = oldCode[codeIndex++];
    prefixSame &&= prev !== undefined && joined(prev.source) === c.source;
    return { cell_type: 'code', id, metadata: {}, execution_count: prefixSame ? prev!.execution_count ?? null : null, outputs: prefixSame ? prev!.outputs ?? [] : [], source: splitLines(c.source) };
  });
  return { file, changed: writeNotebook(file, { cells, metadata: METADATA, nbformat: 4, nbformat_minor: 5 }) };
}

/** Repo paths in outputs become relative (no machine paths in committed notebooks). */
export function relativizeOutputs(nb: Notebook): Notebook {
  const roots = [ROOT, fs.realpathSync(ROOT)].sort((a, b) => b.length - a.length);
  const fix = (v: unknown): unknown => {
    if (typeof v === 'string') return roots.reduce((s, r) => s.split(`${r}/`).join('').split(r).join('.'), v);
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)]));
    return v;
  };
  return { ...nb, cells: nb.cells.map((c) => (c.outputs ? { ...c, outputs: fix(c.outputs) as NbOutput[] } : c)) };
}

/** Executes one notebook in place with nbclient and the project's kernel (from notebooks/, as a user would). */
export function execute(spec: NotebookSpec, opts: { timeoutS?: number; env?: NodeJS.ProcessEnv } = {}): void {
  const jupyterPath = path.join(ROOT, '.cache', 'jupyter');
  const kernel = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils', 'kernel.ts'), '--dir', path.join(jupyterPath, 'kernels')], { encoding: 'utf8' });
  if (kernel.status !== 0) throw new Error(`registering the kernel failed: ${kernel.stderr}`);
  const file = path.join(ROOT, spec.out);
  const env = { ...process.env, ...(process.env.DEVISE_DATA ? {} : spec.sampleEnv), ...opts.env, JUPYTER_PATH: jupyterPath };
  const t0 = Date.now();
  const run = spawnSync('/usr/bin/python3', [path.join(ROOT, 'utils', 'execute-notebook.py'), file, file, '--cwd', DIR, '--timeout', String(opts.timeoutS ?? 3600)], { encoding: 'utf8', env, stdio: ['ignore', 'inherit', 'pipe'] });
  writeNotebook(file, relativizeOutputs(readNotebook(file)));
  const mb = fs.statSync(file).size / 1e6;
  console.log(`${spec.out}: executed in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${mb.toFixed(2)} MB`);
  if (run.status !== 0) throw new Error(`${spec.out}: a cell failed:\n${run.stderr.slice(-3000)}`);
}

export const cli = defineCli({
  command: 'npm run notebooks --',
  summary: 'Builds the .ipynb notebooks from their TypeScript sources (notebooks/*.nb.ts), checks them for drift, and executes them (the committed outputs).',
  positionals: '[all|build|check|execute]',
  commands: { all: 'build, then execute (default)', build: 'write the .ipynb cells from the sources', check: 'exit 1 if a committed .ipynb differs from its source', execute: 'run the notebooks with nbclient and the tslab kernel' },
  flags: {
    only: { type: 'string', placeholder: '<name>', description: 'only the notebook whose file name contains <name>' },
    timeout: { type: 'integer', default: 3600, description: 'seconds per cell' },
  },
  examples: ['npm run notebooks', 'npm run notebooks -- check', 'DEVISE_DATA=~/awa2 DEVISE_LABELS=crawl-300d-2M.vec npm run notebooks -- execute --only Squeezenet'],
});

function main(argv: string[]): void {
  const { values: a, positionals } = cli.parse(argv);
  const command = positionals[0] ?? 'all';
  const specs = NOTEBOOKS.filter((s) => !a.only || path.basename(s.out).includes(a.only));
  if (!specs.length) throw new UserError(`No notebook matches --only ${a.only}; the notebooks are ${NOTEBOOKS.map((s) => path.basename(s.out)).join(', ')}.`);
  if (command === 'check') {
    const problems = specs.flatMap((s) => {
      const file = path.join(ROOT, s.out);
      return fs.existsSync(file) ? drift(s, readNotebook(file)) : [`${s.out} is missing`];
    });
    if (problems.length) throw new UserError(`${problems.join('\n')}\nRun \`npm run notebooks -- build\` (and execute) after editing a source.`);
    console.log(`${specs.length} notebooks match their sources`);
    return;
  }
  if (command === 'build' || command === 'all') for (const s of specs) console.log(`${s.out}: ${build(s).changed ? 'written' : 'unchanged'}`);
  if (command === 'execute' || command === 'all') for (const s of specs) execute(s, { timeoutS: a.timeout });
}

if (require.main === module) runCli(() => main(process.argv.slice(2)));
