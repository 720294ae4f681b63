/**
 * The notebooks are TypeScript sources in percent format (`// %%` code cells, `// %% [markdown]` cells whose
 * lines are `// ` comments), type-checked by `npm test`; this tool turns them into .ipynb files, checks that
 * the committed .ipynb files still match them, and executes them (nbclient + the tslab kernel).
 *
 *   npm run notebooks                    # build + execute every notebook (the committed outputs)
 *   npm run notebooks -- build           # write the .ipynb cells from the sources (outputs of unchanged cells kept)
 *   npm run notebooks -- check           # per notebook: in sync, edited in Jupyter (pull), source newer (build); exit 1 unless in sync
 *   npm run notebooks -- pull            # carry edits made in JupyterLab from the .ipynb back into its .nb.ts
 *   npm run notebooks -- execute --only 00_Quickstart
 *
 * One source may give several notebooks: a code line ending in `// @param NAME` has its string literal replaced
 * by the notebook's value of NAME, and `{{NAME}}` in markdown is replaced too. The first cell of every
 * notebook says which file it was generated from. `build` records a fingerprint of the cells it wrote in the notebook's
 * metadata (`devise.built_cells`): that is how `check`, `pull` and `build` tell an edit made in Jupyter from a
 * source edited since. Notebooks are written exactly as nbformat (and a save in JupyterLab) writes them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineCli, runCli, UserError } from '../lib/cli';
import { childEnv, isSet, userPath } from '../lib/env';
import { KERNEL_DISPLAY_NAME, KERNEL_NAME } from './kernel';

const ROOT = path.resolve(__dirname, '..');
const DIR = path.join(ROOT, 'notebooks');

/** One generated notebook: its source, its file, the values of the source's parameters, its execution environment. */
export interface NotebookSpec {
  source: string;
  out: string;
  vars: Record<string, string>;
  /** The environment `execute` runs it with: the settings of the committed outputs (a variable the user set wins). */
  runEnv?: Record<string, string>;
  /** Why `npm run notebooks` leaves this notebook without outputs (it runs only when `--only` names it). */
  notExecuted?: string;
}

const MAIN = 'notebooks/VisualSemanticModels.nb.ts';
/** The real photos the committed outputs ran on (`npm run data -- tiny-imagenet` builds them; ../shared holds a copy). */
const REAL_PHOTOS = { DEVISE_DATA: '../shared/data/tiny-imagenet-awa2', DEVISE_PER_CLASS: '150', DEVISE_SIZE: '112', DEVISE_LABELS: 'glove100' };
const RAN_ON_REAL_PHOTOS = 'The outputs below ran on real photos: Tiny ImageNet\'s 64 px ImageNet photos of 13 AWA2 classes (10 seen, 3 unseen: persian cat, pig, chimpanzee), the first 150 of each class (1,350 train / 150 valid / 450 unseen), upscaled to 112 px, `glove100` labels (GloVe 6B 100-d), the default recipe (epochs 4,2,5,3, LR finder, batch 16, seed 0)';
// In execution order: the ResNet-50 run first, so the SqueezeNet conclusion has both rows; the Quickstart reads the SqueezeNet run.
export const NOTEBOOKS: NotebookSpec[] = [
  {
    source: MAIN,
    out: 'notebooks/VisualSemanticModels_Resnet50.ipynb',
    vars: {
      ARCH: 'resnet50',
      TITLE: 'ResNet-50 (baseline)',
      WHY: 'ResNet-50 is the baseline, with real ImageNet weights (Keras\'s ResNet-50 v1, `npm run weights -- download resnet50`): more accurate on ImageNet than SqueezeNet, but about 25.8 M parameters (about 100 MB with the DeViSE head). The cells are those of `VisualSemanticModels_Squeezenet1_1.ipynb`; only the backbone differs. (The original\'s baseline was ResNet34: `VisualSemanticModels_Resnet34.ipynb` runs it for users who download torchvision\'s weights.)',
      RAN: RAN_ON_REAL_PHOTOS,
      LABEL_SPACES: '',
    },
    runEnv: REAL_PHOTOS,
  },
  {
    source: MAIN,
    out: 'notebooks/VisualSemanticModels_Resnet34.ipynb',
    vars: {
      ARCH: 'resnet34',
      TITLE: 'ResNet34 (the original\'s baseline)',
      WHY: 'ResNet34 is the original\'s baseline: more accurate on ImageNet, but about 22 M parameters (about 88 MB with the DeViSE head). The cells are those of `VisualSemanticModels_Squeezenet1_1.ipynb`; only the backbone differs. Its ImageNet weights are torchvision\'s (`npm run weights -- download resnet34`, internet needed), so this notebook is committed **without outputs**: offline its weights would be random, and a random-weight run is not a baseline. The pretrained baseline that runs offline is ResNet-50 (`VisualSemanticModels_Resnet50.ipynb`).',
      RAN: 'This notebook is committed without outputs. With torchvision\'s weights downloaded, `npm run notebooks -- execute --only Resnet34` runs it on the same real photos as the other two notebooks',
      LABEL_SPACES: 'word2vec,glove,glove100,wordnet,attributes',
    },
    runEnv: REAL_PHOTOS,
    notExecuted: "it needs torchvision's ResNet34 weights (npm run weights -- download resnet34, internet); then run it with --only Resnet34",
  },
  {
    source: MAIN,
    out: 'notebooks/VisualSemanticModels_Squeezenet1_1.ipynb',
    vars: {
      ARCH: 'squeezenet1_1',
      TITLE: 'SqueezeNet 1.1',
      WHY: 'SqueezeNet 1.1 reaches AlexNet-level ImageNet accuracy with about 1.2 M parameters: with the DeViSE head it is a few MB, small enough for a phone. This is the main experiment; `VisualSemanticModels_Resnet50.ipynb` runs the same cells with the pretrained ResNet-50 baseline.',
      RAN: RAN_ON_REAL_PHOTOS,
      // word2vec against the run's glove100: each space trains stage 2a again (about 9 minutes each on a shared 2-core CPU).
      LABEL_SPACES: 'word2vec',
    },
    runEnv: REAL_PHOTOS,
  },
  { source: 'notebooks/00_Quickstart.nb.ts', out: 'notebooks/00_Quickstart.ipynb', vars: {} },
  // Picks its own data: ../shared's real photos when present (DEVISE_DATA and DEVISE_SMOKE win), else data_samples/.
  { source: 'notebooks/ObjectivesCompared.nb.ts', out: 'notebooks/ObjectivesCompared.ipynb', vars: {} },
];

export interface Cell {
  cell_type: 'code' | 'markdown';
  source: string;
}

/** One `// %%` block of a source: its kind and raw lines (the marker line excluded), as written in the file. */
interface Segment {
  kind: Cell['cell_type'];
  lines: string[];
}

const MARKER = /^\/\/ %%(?:\s*\[(\w+)\])?\s*$/;
const PARAM = /^(.*?)\s*\/\/ @param (\w+)\s*$/;

/** A source split into its header (text before the first `// %%`) and its blocks. */
function segmentsOf(text: string): { header: string[]; segments: Segment[] } {
  const header: string[] = [];
  const segments: Segment[] = [];
  for (const line of text.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker) {
      if (marker[1] && marker[1] !== 'markdown') throw new Error(`Unknown cell kind [${marker[1]}] (use // %% or // %% [markdown])`);
      segments.push({ kind: marker[1] ? 'markdown' : 'code', lines: [] });
    } else if (segments.length) segments[segments.length - 1]!.lines.push(line);
    else header.push(line);
  }
  return { header, segments };
}

/** A code line with its `// @param NAME` string literal replaced by the notebook's value (undefined: not a param line). */
function paramLine(line: string, vars: Record<string, string>): string | undefined {
  const param = PARAM.exec(line);
  if (!param) return undefined;
  const value = vars[param[2]!];
  if (value === undefined) throw new Error(`No value for @param ${param[2]}`);
  return param[1]!.replace(/'[^']*'/, JSON.stringify(value).replace(/^"|"$/g, "'"));
}

/** The cell one block gives for `vars` (blank lines around it trimmed). */
function cellOf(seg: Segment, vars: Record<string, string>): Cell {
  const sub = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
  const lines = seg.lines.map((line) => {
    if (seg.kind === 'code') return paramLine(line, vars) ?? line;
    if (line.trim() !== '' && !line.startsWith('//')) throw new Error(`Markdown cells hold only // comment lines; got: ${line}`);
    return sub(line.replace(/^\/\/ ?/, ''));
  });
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  while (lines.length && lines[0]!.trim() === '') lines.shift();
  return { cell_type: seg.kind, source: lines.join('\n') };
}

/** The cells of a percent-format source, parameters substituted. Text before the first `// %%` is the file's own header (not a cell). */
export function parseCells(text: string, vars: Record<string, string> = {}): Cell[] {
  return segmentsOf(text).segments.map((seg) => cellOf(seg, vars)).filter((c) => c.source !== '' || c.cell_type === 'code');
}

/** A whole source file as one notebook runs it (its `// @param` lines substituted): what the tests type-check per notebook. */
export function variantSource(spec: NotebookSpec): string {
  return fs.readFileSync(path.resolve(ROOT, spec.source), 'utf8').split('\n').map((line) => paramLine(line, spec.vars) ?? line).join('\n');
}

/** The stamp in the first cell: which file to edit. */
export const stampOf = (spec: NotebookSpec): string => `> Generated from \`${spec.source}\` by \`npm run notebooks\`; edit that file, not this notebook.`;

/** The cells a notebook should have (the stamp prepended to the first cell). */
export function expectedCells(spec: NotebookSpec): Cell[] {
  const cells = parseCells(fs.readFileSync(path.resolve(ROOT, spec.source), 'utf8'), spec.vars);
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

/** A notebook's cells as (kind, text) pairs. */
export const cellsOf = (nb: Pick<Notebook, 'cells'>): Cell[] => nb.cells.map((c) => ({ cell_type: c.cell_type as Cell['cell_type'], source: joined(c.source) }));

/** A short fingerprint of a cell list: `build` records it in the notebook's metadata (`devise.built_cells`). */
export const cellsHash = (cells: Cell[]): string => createHash('sha256').update(JSON.stringify(cells.map((c) => [c.cell_type, c.source]))).digest('hex').slice(0, 16);

/** Where a notebook stands against its source: in sync, edited in Jupyter, source edited since the build, or both. */
export type SyncState = 'in sync' | 'notebook edited' | 'source edited' | 'both edited';

/** Compares a notebook with its source and with the cells `build` last wrote into it (a notebook with no record counts as unedited). */
export function syncState(spec: NotebookSpec, nb: Pick<Notebook, 'cells' | 'metadata'>): SyncState {
  const have = cellsHash(cellsOf(nb));
  const want = cellsHash(expectedCells(spec));
  if (have === want) return 'in sync';
  const built = (nb.metadata?.devise as { built_cells?: string } | undefined)?.built_cells ?? have;
  const notebookEdited = have !== built;
  const sourceEdited = want !== built;
  return notebookEdited && sourceEdited ? 'both edited' : notebookEdited ? 'notebook edited' : 'source edited';
}

/** Longest common subsequence of two cell lists: the index pairs of equal cells, in order. */
function matchCells(a: Cell[], b: Cell[]): [number, number][] {
  const eq = (i: number, j: number) => a[i]!.cell_type === b[j]!.cell_type && a[i]!.source === b[j]!.source;
  const L = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) L[i]![j] = eq(i, j) ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const pairs: [number, number][] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (eq(i, j)) pairs.push([i++, j++]);
    else if (L[i + 1]![j]! >= L[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

/**
 * The block that gives `cell` for `vars`: markdown lines become `// ` comments with the values of the block's
 * {{NAMES}} put back; a code line equal to a `// @param` line's substitution gets its `// @param` line back.
 * Throws when the result does not give `cell` again (e.g. an edited @param line).
 */
function segmentFor(cell: Cell, vars: Record<string, string>, old: Segment | undefined, where: string): Segment {
  let lines = cell.source.split('\n');
  if (cell.cell_type === 'markdown') {
    const names = old?.kind === 'markdown' ? [...new Set(old.lines.join('\n').match(/\{\{(\w+)\}\}/g) ?? [])].map((m) => m.slice(2, -2)) : [];
    const text = names.reduce((t, k) => (vars[k] ? t.split(vars[k]!).join(`{{${k}}}`) : t), cell.source);
    lines = text.split('\n').map((l) => (l === '' ? '//' : `// ${l}`));
  } else if (old?.kind === 'code') {
    for (const raw of old.lines) {
      const sub = paramLine(raw, vars);
      if (sub === undefined) continue;
      const at = lines.indexOf(sub);
      if (at < 0) throw new UserError(`${where}: the line \`${raw.trim()}\` of the source is filled in per notebook by \`// @param\`; it was changed or removed in the notebook`, 'change the value in NOTEBOOKS (utils/notebooks.ts), or restore the line in the notebook, then pull again');
      lines[at] = raw;
    }
  }
  const seg: Segment = { kind: cell.cell_type, lines: [...lines, ''] };
  const back = cellOf(seg, vars);
  if (back.source !== cell.source) throw new UserError(`${where}: this cell cannot be written back into the source unchanged (${JSON.stringify(cell.source.slice(0, 60))})`, 'copy the edit into the source by hand');
  return seg;
}

/** The notebook's cells without the "Generated from" stamp build puts first. */
function unstamped(spec: NotebookSpec, cells: Cell[]): Cell[] {
  const stamp = stampOf(spec);
  const [first, ...rest] = cells;
  if (!first || !first.source.startsWith(stamp)) return cells;
  const body = first.source.slice(stamp.length).replace(/^\n\n/, '');
  return body === '' ? rest : [{ ...first, source: body }, ...rest];
}

/**
 * Carries the code and markdown edits of a notebook back into its source: cells equal to the source's stay as
 * written; edited, added and deleted cells replace theirs. Returns the new source text (the file is not written).
 */
export function pulledSource(spec: NotebookSpec, nb: Pick<Notebook, 'cells'>): string {
  const text = fs.readFileSync(path.resolve(ROOT, spec.source), 'utf8');
  const { header, segments } = segmentsOf(text);
  // The visible cells and the block each comes from (empty markdown blocks give no cell).
  const visible = segments.map((seg, k) => ({ k, cell: cellOf(seg, spec.vars) })).filter((v) => v.cell.source !== '' || v.cell.cell_type === 'code');
  const have = unstamped(spec, cellsOf(nb));
  const pairs = matchCells(visible.map((v) => v.cell), have);
  const out: Segment[] = [];
  let i = 0;
  let j = 0;
  let k = 0; // next source block not yet emitted
  const emitUpTo = (end: number) => {
    // blocks with no visible cell that sit before `end` are kept
    for (; k < end; k++) if (!visible.some((v) => v.k === k)) out.push(segments[k]!);
  };
  for (const [pi, pj] of [...pairs, [visible.length, have.length] as [number, number]]) {
    // The gap: source cells i..pi-1 against notebook cells j..pj-1; pair by position, the rest added or deleted.
    for (; i < pi || j < pj; ) {
      const src = i < pi ? visible[i]! : undefined;
      if (src) emitUpTo(src.k);
      if (j < pj) out.push(segmentFor(have[j]!, spec.vars, src ? segments[src.k] : undefined, `${spec.out} cell ${j + 1}`));
      if (src) k = src.k + 1;
      if (i < pi) i++;
      if (j < pj) j++;
    }
    if (pi < visible.length) {
      emitUpTo(visible[pi]!.k);
      out.push(segments[visible[pi]!.k]!);
      k = visible[pi]!.k + 1;
      i = pi + 1;
      j = pj + 1;
    }
  }
  emitUpTo(segments.length);
  return [...header, ...out.flatMap((seg) => [seg.kind === 'markdown' ? '// %% [markdown]' : '// %%', ...seg.lines])].join('\n');
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

/** What to do about each state (check's and build's messages). */
const ADVICE: Record<Exclude<SyncState, 'in sync'>, string> = {
  'notebook edited': 'the notebook holds edits made in Jupyter: `npm run notebooks -- pull` carries them into the source',
  'source edited': 'the source changed since the notebook was built: `npm run notebooks -- build` (then execute)',
  'both edited': 'both changed since the last build: `npm run notebooks -- pull` first shows which cells conflict',
};

/**
 * Writes the notebook's cells from its source; outputs are kept for code cells whose source and every earlier code
 * cell are unchanged. Refuses to overwrite a notebook holding edits not in its source unless `force`.
 */
export function build(spec: NotebookSpec, opts: { force?: boolean } = {}): { file: string; changed: boolean } {
  const file = path.resolve(ROOT, spec.out);
  const old: Notebook | undefined = fs.existsSync(file) ? readNotebook(file) : undefined;
  const state = old ? syncState(spec, old) : 'source edited';
  if (!opts.force && (state === 'notebook edited' || state === 'both edited')) {
    throw new UserError(`${spec.out} holds edits that are not in ${spec.source}; not overwritten`, `${ADVICE[state]}; \`build --force\` discards them`);
  }
  const oldCode = (old?.cells ?? []).filter((c) => c.cell_type === 'code');
  let codeIndex = 0;
  let prefixSame = true;
  const expected = expectedCells(spec);
  const cells: NbCell[] = expected.map((c, i) => {
    const id = `cell-${i}`;
    if (c.cell_type === 'markdown') return { cell_type: 'markdown', id, metadata: {}, source: splitLines(c.source) };
    const prev = oldCode[codeIndex++];
    prefixSame &&= prev !== undefined && joined(prev.source) === c.source;
    return { cell_type: 'code', id, metadata: {}, execution_count: prefixSame ? prev!.execution_count ?? null : null, outputs: prefixSame ? prev!.outputs ?? [] : [], source: splitLines(c.source) };
  });
  const metadata = { ...METADATA, devise: { built_cells: cellsHash(expected) } };
  return { file, changed: writeNotebook(file, { cells, metadata, nbformat: 4, nbformat_minor: 5 }) };
}

/** Pulls a notebook's edits into its source, then rebuilds the source's notebooks (outputs kept); returns what changed. */
export function pull(spec: NotebookSpec): string[] {
  const file = path.resolve(ROOT, spec.out);
  const nb = readNotebook(file);
  const state = syncState(spec, nb);
  if (state === 'in sync' || state === 'source edited') return [];
  if (state === 'both edited') {
    const cells = drift(spec, nb);
    throw new UserError(`${spec.out} and ${spec.source} both changed since the last build:\n${cells.join('\n')}`, 'make the source hold what you want, then `npm run notebooks -- build --force`');
  }
  const siblings = NOTEBOOKS.filter((s) => s.source === spec.source && s.out !== spec.out && fs.existsSync(path.resolve(ROOT, s.out)));
  const edited = siblings.filter((s) => ['notebook edited', 'both edited'].includes(syncState(s, readNotebook(path.resolve(ROOT, s.out)))));
  if (edited.length) throw new UserError(`${spec.out} and ${edited.map((s) => s.out).join(', ')} (same source) both hold edits`, `pull one with --only, copy the other's edits into it in Jupyter, or into ${spec.source} by hand`);
  fs.writeFileSync(path.resolve(ROOT, spec.source), pulledSource(spec, nb));
  // The pulled notebook now matches its source: rebuilding keeps its outputs and records the new build.
  return [spec.source, ...[spec, ...siblings].filter((s) => build(s, { force: s === spec }).changed).map((s) => s.out)];
}

/** Repo paths in outputs become relative, and so do paths beside the repo such as ../shared (no machine paths in committed notebooks). */
export function relativizeOutputs(nb: Notebook): Notebook {
  const roots = [ROOT, fs.realpathSync(ROOT)].sort((a, b) => b.length - a.length);
  const parents = [...new Set(roots.map((r) => path.dirname(r)))].sort((a, b) => b.length - a.length);
  const fix = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const inRepo = roots.reduce((s, r) => s.split(`${r}/`).join('').split(r).join('.'), v);
      return parents.reduce((s, p) => s.split(`${p}/`).join('../'), inRepo);
    }
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)]));
    return v;
  };
  return { ...nb, cells: nb.cells.map((c) => (c.outputs ? { ...c, outputs: fix(c.outputs) as NbOutput[] } : c)) };
}

/**
 * The variables of `spec.runEnv` the user has not set. Its data folder must exist: the committed outputs ran on
 * real photos that are not part of the repository, so a machine without them is told how to get them.
 */
export function runEnvOf(spec: NotebookSpec): Record<string, string> {
  const unset = Object.fromEntries(Object.entries(spec.runEnv ?? {}).filter(([name]) => !isSet(name)));
  if (unset.DEVISE_DATA && !fs.existsSync(userPath(unset.DEVISE_DATA))) {
    throw new UserError(
      `${spec.out} runs on ${unset.DEVISE_DATA} (the committed outputs' real photos), which is not on this machine`,
      'build the photos with `npm run data -- tiny-imagenet --out <dir>` and set DEVISE_DATA=<dir>/tiny-imagenet-awa2, or set DEVISE_DATA=data_samples for the offline emoji sample',
    );
  }
  return unset;
}

/** Executes one notebook in place with nbclient and the project's kernel (from notebooks/, as a user would). */
export function execute(spec: NotebookSpec, opts: { timeoutS?: number; env?: NodeJS.ProcessEnv } = {}): void {
  const jupyterPath = path.join(ROOT, '.cache', 'jupyter');
  const kernel = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils', 'kernel.ts'), '--dir', path.join(jupyterPath, 'kernels')], { encoding: 'utf8' });
  if (kernel.status !== 0) throw new Error(`registering the kernel failed: ${kernel.stderr}`);
  const file = path.resolve(ROOT, spec.out);
  const env = childEnv({ ...runEnvOf(spec), ...opts.env, JUPYTER_PATH: jupyterPath });
  const t0 = Date.now();
  const run = spawnSync('/usr/bin/python3', [path.join(ROOT, 'utils', 'execute-notebook.py'), file, file, '--cwd', DIR, '--timeout', String(opts.timeoutS ?? 3600), '--optimize-png'], { encoding: 'utf8', env, stdio: ['ignore', 'inherit', 'pipe'] });
  writeNotebook(file, relativizeOutputs(readNotebook(file)));
  const mb = fs.statSync(file).size / 1e6;
  console.log(`${spec.out}: executed in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${mb.toFixed(2)} MB`);
  if (run.status !== 0) throw new Error(`${spec.out}: a cell failed:\n${run.stderr.slice(-3000)}`);
}

export const cli = defineCli({
  command: 'npm run notebooks --',
  summary: 'Builds the .ipynb notebooks from their TypeScript sources (notebooks/*.nb.ts), checks them for drift, and executes them (the committed outputs).',
  positionals: '[all|build|check|pull|execute]',
  commands: {
    all: 'build, then execute (default)',
    build: 'write the .ipynb cells from the sources (refuses to overwrite edits made in Jupyter; --force discards them)',
    check: 'say, per notebook, which side is newer; exit 1 unless all match',
    pull: 'carry code and markdown edits made in Jupyter from an .ipynb back into its .nb.ts source',
    execute: 'run the notebooks with nbclient and the devise-ts kernel',
  },
  flags: {
    force: { type: 'boolean', description: 'build: overwrite a notebook even if it holds edits not in its source' },
    only: { type: 'string', placeholder: '<name>', description: 'only the notebook whose file name contains <name>' },
    timeout: { type: 'integer', default: 3600, description: 'seconds per cell' },
  },
  examples: ['npm run notebooks', 'npm run notebooks -- check', 'npm run notebooks -- pull --only Squeezenet', 'DEVISE_DATA=~/awa2 DEVISE_LABELS=crawl-300d-2M.vec npm run notebooks -- execute --only Squeezenet'],
});

function main(argv: string[]): void {
  const { values: a, positionals } = cli.parse(argv);
  const command = positionals[0] ?? 'all';
  const specs = NOTEBOOKS.filter((s) => !a.only || path.basename(s.out).includes(a.only));
  if (!specs.length) throw new UserError(`No notebook matches --only ${a.only}; the notebooks are ${NOTEBOOKS.map((s) => path.basename(s.out)).join(', ')}.`);
  if (command === 'check') {
    const lines = specs.map((s) => {
      const file = path.resolve(ROOT, s.out);
      if (!fs.existsSync(file)) return { ok: false, text: `${s.out}: missing (npm run notebooks -- build)` };
      const state = syncState(s, readNotebook(file));
      return { ok: state === 'in sync', text: state === 'in sync' ? `${s.out}: matches ${s.source}` : `${s.out}: ${state} — ${ADVICE[state]}` };
    });
    for (const l of lines.filter((x) => x.ok)) console.log(l.text);
    const bad = lines.filter((x) => !x.ok);
    if (bad.length) throw new UserError(bad.map((l) => l.text).join('\n'));
    return;
  }
  if (command === 'pull') {
    for (const s of specs) {
      const changed = pull(s);
      console.log(changed.length ? `${s.out}: pulled into ${changed.join(', ')}` : `${s.out}: nothing to pull`);
    }
    return;
  }
  if (!['all', 'build', 'execute'].includes(command)) throw new UserError(`unknown command ${command}; use all, build, check, pull or execute`);
  if (command === 'build' || command === 'all') for (const s of specs) console.log(`${s.out}: ${build(s, { force: a.force }).changed ? 'written' : 'unchanged'}`);
  if (command === 'execute' || command === 'all') {
    for (const s of specs) {
      // A notebook left without outputs runs only when asked for by name.
      if (s.notExecuted && !a.only) console.log(`${s.out}: not executed: ${s.notExecuted}`);
      else execute(s, { timeoutS: a.timeout });
    }
  }
}

if (require.main === module) runCli(() => main(process.argv.slice(2)));
