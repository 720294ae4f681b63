/**
 * The run folder: the one owner of its layout and schemas. A run folder holds `run.json` (what the run is: data,
 * backbone, classes, preprocessing, which phases started and finished, the rates they trained at), `labels.json`
 * (every class with its vector in the run's label space), `models/<phase>/` checkpoints (the recipe's, each with a
 * `state.json`), `models/stage1-model/` (the finished classifier) and `search/` (the hnswlib indices). The demo,
 * `npm run train`, the notebooks, export, resume and the Quickstart read and write it only through this module.
 *
 *   const file = readRunFile('reports/x/run');            // run.json, or undefined when there is none
 *   writeRunFile(dir, { ...file, phases: { ...file.phases, stage2a: 'done' } });
 *   const dir = findRun({ run: env.run, notebook: cfg.out });   // the one way to find a run
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockFolder, readJsonFile, writeFileAtomically } from './backend/io';
import type { Awa2SplitName } from './data/awa2';
import { env } from './env';
import type { Arch } from './models/registry';
import type { Preprocessing } from './preprocessing';
import { ROOT } from './settings';
import { PHASE_NAMES, PHASE_ORDER, type PhaseStatus } from './train/recipe';
import type { Item } from './data/items';
import { imageDataBunch } from './data/loader';
import type { LabelEmbeddings } from './vectors/labels';
import { labelSource } from './vectors/sources';

/** run.json's format tag (files without one are read as this format). */
export const RUN_FORMAT = 'devise-ts-run-1';

/** A learning rate a phase trained at, and where it came from. */
export interface ChosenLr {
  value: number;
  /** `user`: the rate was given; `lr_find`: the finder's suggestion; `default`: the recipe's rate, the finder's curve never fell. */
  from: 'user' | 'lr_find' | 'default';
  /** Which of the finder's rules gave it (`lr_find` only). */
  method?: 'min/10' | 'valley';
}

/** run.json: what the run is. One schema for every writer (the demo, the notebooks, `npm run train`). */
export interface RunFile {
  format: string;
  arch: Arch;
  size: number;
  bs?: number;
  validPct?: number;
  /** At most this many images per class were read (absent: all). */
  perClass?: number;
  seed: number;
  /** The label source's name (or .vec file); 'none' for a classifier-only run. */
  labels?: string;
  data: string;
  /** AWA2 zero-shot split: 'standard' (the dataset's) or 'proposed' (Xian et al.). */
  split?: Awa2SplitName;
  classes: string[];
  testClasses: string[];
  preprocessing: Preprocessing;
  /** The rates the LR-found phases trained at (a record: training is given its rate, not read from here). */
  lr?: { stage1?: ChosenLr; stage2a?: ChosenLr };
  /** Checkpoint name → whether the phase started ('running') or finished ('done'). */
  phases: Record<string, 'done' | 'running'>;
  /** The command that made the run, so `--resume` rebuilds it. */
  command?: { tool: string; settings: Record<string, unknown> };
}

/** labels.json: every class (seen then unseen) with its vector. */
export interface LabelTable {
  source: string;
  dim: number;
  classes: string[];
  seen: boolean[];
  vectors: number[][];
  /** In an export: the GZSL calibration γ subtracted from seen-label scores (see `runGamma`). */
  gamma?: number;
}

/** Where things live in a run folder. */
export const runPaths = (dir: string) => ({
  runFile: path.join(dir, 'run.json'),
  labels: path.join(dir, 'labels.json'),
  models: path.join(dir, 'models'),
  /** The finished stage-1 classifier (saveModel folder): the common start of stage 2 and the label-source comparison. */
  stage1Model: path.join(dir, 'models', 'stage1-model'),
  checkpoint: (name: string) => path.join(dir, 'models', name),
  search: path.join(dir, 'search'),
  metrics: path.join(dir, 'metrics.json'),
});

/**
 * Opens run folder `dir` for writing by `command` (what the user typed): takes the folder's lock, so a second run
 * into the same folder refuses, naming the holder's PID and command. Returns the release function.
 */
export function openRunFolder(dir: string, command: string): () => void {
  return lockFolder(dir, command);
}

/** `<dir>/run.json`, or undefined when there is none; a damaged file is an error that names it. */
export function readRunFile(dir: string): RunFile | undefined {
  const file = runPaths(dir).runFile;
  if (!fs.existsSync(file)) return undefined;
  const run = readJsonFile<RunFile>(file, 'run file');
  return { ...run, format: run.format ?? RUN_FORMAT, phases: run.phases ?? {}, testClasses: run.testClasses ?? [] };
}

/** Writes `<dir>/run.json` atomically (creating the folder). */
export function writeRunFile(dir: string, run: RunFile): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomically(runPaths(dir).runFile, JSON.stringify(run, null, 2) + '\n');
}

/** Records that phase `name` started or finished in `<dir>/run.json` (a no-op without one). */
export function recordPhase(dir: string, name: string, status: 'running' | 'done'): void {
  const run = readRunFile(dir);
  if (run) writeRunFile(dir, { ...run, phases: { ...run.phases, [name]: status } });
}

/** The table of every class of `classes` (seen first) with its vector, from an embedding of them. */
export function labelTable(emb: LabelEmbeddings, source: string, classes: string[], seenClasses: string[]): LabelTable {
  const seen = new Set(seenClasses);
  return { source, dim: emb.dim, classes, seen: classes.map((c) => seen.has(c)), vectors: classes.map((_, i) => Array.from(emb.vectors.subarray(i * emb.dim, (i + 1) * emb.dim))) };
}

/** Writes `<dir>/labels.json`. */
export function writeLabelTable(dir: string, table: LabelTable): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomically(runPaths(dir).labels, JSON.stringify(table) + '\n');
}

/** `<dir>/labels.json`, or undefined when there is none. */
export function readLabelTable(dir: string): LabelTable | undefined {
  const file = runPaths(dir).labels;
  return fs.existsSync(file) ? readJsonFile<LabelTable>(file, 'label table') : undefined;
}

/** A checkpoint's `state.json`: the fit's plan and position (fields read here). */
interface CheckpointState {
  plan?: { epochs: number; kind?: string };
  position?: { epoch: number; batch: number };
}

/** What phase checkpoint `name` holds: none, stopped part-way (with its position), or finished. */
export function checkpointStatus(dir: string, name: string): { status: PhaseStatus; epoch?: number; batch?: number; epochs?: number } {
  const file = path.join(runPaths(dir).checkpoint(name), 'state.json');
  if (!fs.existsSync(file)) return { status: 'none' };
  const st = readJsonFile<CheckpointState>(file, 'checkpoint state');
  if (!st.plan || !st.position) return { status: 'none' };
  const at = { epoch: st.position.epoch, batch: st.position.batch, epochs: st.plan.epochs };
  return { status: st.position.epoch >= st.plan.epochs ? 'done' : 'partial', ...at };
}

/** Where a run's training stands, in words: the phase stopped part-way and its position, or the last finished one. */
export function describePosition(dir: string, shown: (p: string) => string = (p) => p, batchesPerEpoch?: number): string {
  let lastDone: string | undefined;
  for (const key of PHASE_ORDER) {
    const name = PHASE_NAMES[key];
    let s: ReturnType<typeof checkpointStatus>;
    try {
      s = checkpointStatus(dir, name);
    } catch {
      continue; // a damaged state.json: the phase did not get far enough to count
    }
    if (s.status === 'done') lastDone = name;
    if (s.status !== 'partial') continue;
    return `in phase ${name} at epoch ${s.epoch! + 1} of ${s.epochs}, batch ${s.batch}${batchesPerEpoch ? ` of ${batchesPerEpoch}` : ''} (checkpoint ${shown(runPaths(dir).checkpoint(name))})`;
  }
  return lastDone ? `after phase ${lastDone} (finished, checkpoint ${shown(runPaths(dir).checkpoint(lastDone))})` : 'before the first training batch';
}

/** Phases that hold a stage-2 embedding model, most trained first. */
export const EMBEDDING_PHASES = ['stage2b', 'stage2a'];

/** The folder of the run's most trained embedding checkpoint (stage2b, else stage2a, else the newest embedding one). */
export function embeddingCheckpoint(dir: string): string {
  const models = runPaths(dir).models;
  for (const p of EMBEDDING_PHASES) if (fs.existsSync(path.join(models, p, 'model.json'))) return path.join(models, p);
  const dirs = fs.existsSync(models) ? fs.readdirSync(models).map((d) => path.join(models, d)).filter((d) => fs.existsSync(path.join(d, 'model.json'))) : [];
  dirs.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  for (const d of dirs) {
    const meta = readJsonFile<{ userDefinedMetadata?: { devise?: { head?: { kind?: string } } } }>(path.join(d, 'model.json'), 'model');
    if (meta.userDefinedMetadata?.devise?.head?.kind === 'embedding') return d;
  }
  throw new Error(`${dir} has no stage-2 embedding checkpoint under models/ (looked for ${EMBEDDING_PHASES.join(', ')}): finish stage 2 first`);
}

/** A run folder from what a user may pass: the run itself, a demo report folder (…/run), or a multi-seed one (…/seed-1/run). */
export function resolveRun(dir: string): string {
  for (const c of [dir, path.join(dir, 'run'), path.join(dir, 'seed-1', 'run')]) if (fs.existsSync(runPaths(c).runFile)) return c;
  throw new Error(`${dir} holds no run (no run.json there, in run/ or in seed-1/run/): pass the folder \`npm run demo\` wrote`);
}

/** The newest run under `reports` (what `npm run demo` writes: reports/<timestamp>/run or …/seed-N/run) that `holds` (default: has checkpoints), or null. */
export function latestRun(reports: string, holds: (dir: string) => boolean = (dir) => fs.existsSync(runPaths(dir).models)): string | null {
  if (!fs.existsSync(reports)) return null;
  const runs: string[] = [];
  for (const d of fs.readdirSync(reports)) {
    const top = path.join(reports, d);
    if (!fs.statSync(top).isDirectory()) continue;
    const subs = [top, ...fs.readdirSync(top).filter((s) => /^seed-\d+$/.test(s)).map((s) => path.join(top, s))];
    for (const s of subs) if (fs.existsSync(runPaths(path.join(s, 'run')).runFile) && holds(path.join(s, 'run'))) runs.push(path.join(s, 'run'));
  }
  runs.sort((a, b) => fs.statSync(runPaths(b).runFile).mtimeMs - fs.statSync(runPaths(a).runFile).mtimeMs);
  return runs[0] ?? null;
}

/** A run found by {@link findRun}. */
export interface FoundRun {
  dir: string;
  run: RunFile | undefined;
  /** Which candidate it was: 'given' (a path or name), 'notebook' or 'demo'. */
  from: 'given' | 'notebook' | 'demo';
}

/**
 * The one way to find a run. `given` (default `DEVISE_RUN`): a run folder, a report folder around one (…/run,
 * …/seed-1/run), or the name of a folder under `reports/`; a given run that is not there is an error naming it.
 * Else the notebook's run folder (`notebook`), else the newest `npm run demo` run under `reports` (default the
 * repository's reports/). `needs`: what the run must hold ('search': search indices; 'models': checkpoints; default
 * run.json). Null when nothing was given and no run qualifies.
 */
export function findRun(opts: { given?: string; notebook?: string; reports?: string; needs?: 'search' | 'models' } = {}): FoundRun | null {
  const { given = env.run, reports = path.join(ROOT, 'reports'), needs } = opts;
  const holds = (dir: string) => fs.existsSync(needs === 'search' ? runPaths(dir).search : needs === 'models' ? runPaths(dir).models : runPaths(dir).runFile);
  const found = (dir: string, from: FoundRun['from']): FoundRun => ({ dir, run: readRunFile(dir), from });
  if (given) {
    const bases = [given, ...(path.isAbsolute(given) ? [] : [path.join(reports, given)])];
    for (const base of bases) for (const c of [base, path.join(base, 'run'), path.join(base, 'seed-1', 'run')]) if (holds(c)) return found(path.resolve(c), 'given');
    throw new Error(`${given} holds no run${needs ? ` with ${needs === 'search' ? 'search indices' : 'checkpoints'}` : ''} (looked in it, its run/ and seed-1/run/${path.isAbsolute(given) ? '' : `, and ${path.join(reports, given)}`}): pass the folder \`npm run demo\` or the notebook wrote`);
  }
  if (opts.notebook && holds(opts.notebook)) return found(opts.notebook, 'notebook');
  const demo = latestRun(reports, holds);
  return demo ? found(demo, 'demo') : null;
}

/**
 * Reads run.json and labels.json of a run folder (or of the report folder around it), with errors that say what
 * is missing. A run without labels.json gets its table from the label source run.json names.
 */
export async function readRun(dir: string): Promise<{ dir: string; info: RunFile; labels: LabelTable }> {
  const runDir = fs.existsSync(runPaths(dir).runFile) ? dir : fs.existsSync(path.join(dir, 'run', 'run.json')) ? path.join(dir, 'run') : dir;
  const info = readRunFile(runDir);
  if (!info) throw new Error(`${dir} is not a finished run: run.json is missing (run \`npm run demo\` first, or pass the run folder it wrote)`);
  if (!fs.existsSync(info.data)) info.data = path.resolve(runDir, info.data);
  let labels = readLabelTable(runDir);
  if (!labels) {
    if (!info.labels || info.labels === 'none') throw new Error(`${runDir} has neither labels.json nor a label source in run.json`);
    const source = await labelSource(info.labels, { seed: info.seed, awa2Meta: info.data });
    const classes = [...info.classes, ...info.testClasses];
    labels = labelTable(source.embed(classes), source.name, classes, info.classes);
  }
  return { dir: runDir, info, labels };
}

/**
 * The GZSL calibration γ the run's report chose (calibrated stacking, picked on held-out seen images): read from
 * the report's metrics.json (`gzsl.calibrated.gamma`) in or next to the run folder; null when there is none.
 */
export function runGamma(runDir: string): number | null {
  for (const f of [runPaths(runDir).metrics, path.join(path.dirname(path.resolve(runDir)), 'metrics.json')]) {
    if (!fs.existsSync(f)) continue;
    try {
      const g = (JSON.parse(fs.readFileSync(f, 'utf8')) as { gzsl?: { calibrated?: { gamma?: unknown } } }).gzsl?.calibrated?.gamma;
      if (typeof g === 'number' && Number.isFinite(g)) return g;
    } catch {
      // not a report's metrics.json
    }
  }
  return null;
}

/** The run's train/valid/test items, split exactly as the run split them (same root, seed, validPct). */
export async function runItems(info: RunFile): Promise<{ train: Item[]; valid: Item[]; test: Item[] }> {
  const data = await imageDataBunch({ root: info.data, size: info.size, bs: 16, validPct: info.validPct ?? 0.2, perClass: info.perClass, seed: info.seed, preprocessing: info.preprocessing, classes: info.classes, augment: false, split: info.split });
  return { train: data.train.items, valid: data.valid.items, test: data.test?.items ?? [] };
}
