/**
 * Crash-safe, idempotent, seeded file transfers behind `utils/copy-awa2.ts` and `utils/move-awa2.ts`
 * (they replace the original copy_awa2.py / move_awa2.py, which moved files with no seed or recovery).
 *
 *   const job = planSample({ src: 'AwA2/JPEGImages', dest: 'out/train', classes, count: 2000, seed: 0, move: false });
 *   const report = runTransfer(job);   // rerun after a crash with the same flags finishes the job
 *
 * Safety: the plan is written to a journal (temp + rename) before any file is touched, and a rerun
 * with the same flags replays it; a copy lands under a temp name and is hard-linked into place
 * (link never overwrites), a move is link + unlink; a destination file that differs from its source is
 * a conflict, never overwritten. Counts are verified at the end, then the journal is removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listDirs, listImages } from './items';
import { Rng, deriveSeed, hashString } from './rng';
import { writeFileAtomically } from '../backend/io';

export interface Transfer {
  from: string;
  to: string;
  label: string;
}

export interface TransferJob {
  mode: 'copy' | 'move';
  /** Where the journal lives (a folder the job writes into). */
  journalDir: string;
  /** Identifies the flags that produced the plan; a journal with another key is refused. */
  key: string;
  ops: Transfer[];
}

export interface ClassReport {
  label: string;
  planned: number;
  transferred: number;
  already: number;
  conflicts: number;
}

export interface TransferReport {
  mode: 'copy' | 'move';
  dryRun: boolean;
  resumed: boolean;
  classes: ClassReport[];
  conflicts: string[];
}

const JOURNAL = '.devise-transfer.json';

/** Plans copying (or moving) at most `count` seeded-random images per class from `src/<class>` to `dest/<class>`. */
export function planSample(opts: { src: string; dest: string; classes: string[]; count?: number; seed?: number; move?: boolean }): TransferJob {
  const { src, dest, classes, count = Infinity, seed = 0, move = false } = opts;
  refuseOverlap(src, dest);
  const ops: Transfer[] = [];
  for (const label of classes) {
    const from = path.join(src, label);
    const to = path.join(dest, label);
    if (!fs.existsSync(from) && !(move && fs.existsSync(to))) {
      throw new Error(fs.existsSync(src) ? `class folder ${from} does not exist (is --src the JPEGImages folder?)` : `--src ${src} does not exist: pass AWA2's JPEGImages folder`);
    }
    // A move shrinks src: choose from src ∪ dest so a rerun sees the same universe as the first run.
    const names = union(fs.existsSync(from) ? listImages(from) : [], move && fs.existsSync(to) ? listImages(to) : []);
    const chosen = new Rng(deriveSeed(seed, hashString(label))).shuffle(names).slice(0, count);
    for (const n of chosen.sort()) ops.push({ from: path.join(from, n), to: path.join(to, n), label });
  }
  return { mode: move ? 'move' : 'copy', journalDir: dest, key: JSON.stringify({ tool: 'sample', src: path.resolve(src), dest: path.resolve(dest), classes, count: String(count), seed, move }), ops };
}

/** Plans moving a seeded `percent` of every class from `root/<from>/<class>` to `root/<to>/<class>` (a validation split). */
export function planSplit(opts: { root: string; from: string; to: string; percent: number; seed?: number; classes?: string[] }): TransferJob {
  const { root, from, to, percent, seed = 0 } = opts;
  if (!(percent > 0 && percent < 1)) throw new Error(`--percent must be in (0, 1), got ${percent}`);
  const fromDir = path.join(root, from);
  const toDir = path.join(root, to);
  if (!fs.existsSync(fromDir)) {
    throw new Error(fs.existsSync(root) ? `${fromDir} does not exist: --root needs a ${from}/ folder (or pass --from <split>)` : `--root ${root} does not exist: pass the folder that holds ${from}/ (e.g. awa2)`);
  }
  refuseOverlap(fromDir, toDir);
  const classes = opts.classes ?? union(listDirs(fromDir), listDirs(toDir));
  const ops: Transfer[] = [];
  for (const label of classes) {
    const a = path.join(fromDir, label);
    const b = path.join(toDir, label);
    if (!fs.existsSync(a) && !fs.existsSync(b)) throw new Error(`class folder not found: ${a}`);
    // from ∪ to is invariant under the move, so reruns and resumed runs pick the same files.
    const names = union(fs.existsSync(a) ? listImages(a) : [], fs.existsSync(b) ? listImages(b) : []);
    const k = Math.round(names.length * percent);
    const chosen = new Rng(deriveSeed(seed, hashString(label))).shuffle(names).slice(0, k);
    for (const n of chosen.sort()) ops.push({ from: path.join(a, n), to: path.join(b, n), label });
  }
  return { mode: 'move', journalDir: toDir, key: JSON.stringify({ tool: 'split', root: path.resolve(root), from, to, percent, seed, classes }), ops };
}

/** Executes (or with `dryRun`, only reports) a job; resumes from its journal; throws if verification fails. */
export function runTransfer(job: TransferJob, opts: { dryRun?: boolean; onProgress?: (done: number, total: number) => void } = {}): TransferReport {
  const journal = path.join(job.journalDir, JOURNAL);
  let ops = job.ops;
  let resumed = false;
  if (fs.existsSync(journal)) {
    const saved = JSON.parse(fs.readFileSync(journal, 'utf8')) as { key: string; mode: string; ops: Transfer[] };
    if (saved.key !== job.key || saved.mode !== job.mode) {
      throw new Error(`${journal}: an unfinished run with different flags is recorded here (${saved.key}); rerun with those flags to finish it, or delete the journal if you are sure`);
    }
    ops = saved.ops;
    resumed = true;
  }
  const conflicted = new Set<string>();
  const byLabel = new Map<string, ClassReport>();
  for (const op of ops) {
    if (!byLabel.has(op.label)) byLabel.set(op.label, { label: op.label, planned: 0, transferred: 0, already: 0, conflicts: 0 });
    byLabel.get(op.label)!.planned++;
  }
  const report: TransferReport = { mode: job.mode, dryRun: !!opts.dryRun, resumed, classes: [...byLabel.values()], conflicts: [] };
  if (!opts.dryRun && !resumed) writeFileAtomically(journal, JSON.stringify({ key: job.key, mode: job.mode, ops }));
  ops.forEach((op, i) => {
    const r = byLabel.get(op.label)!;
    const state = inspect(op);
    if (state === 'conflict') {
      r.conflicts++;
      conflicted.add(op.to);
      report.conflicts.push(`${op.to} exists and differs from ${op.from}; not overwritten`);
    } else if (state === 'missing') {
      throw new Error(`${op.from} vanished and ${op.to} does not exist: was the source changed during the run?`);
    } else if (state === 'done') {
      r.already++;
      if (!opts.dryRun && job.mode === 'move' && fs.existsSync(op.from)) fs.unlinkSync(op.from); // crash between link and unlink
    } else {
      r.transferred++;
      if (!opts.dryRun) transferOne(op, job.mode);
    }
    if (!opts.dryRun) fs.rmSync(tempName(op.to), { force: true });
    opts.onProgress?.(i + 1, ops.length);
  });
  if (!opts.dryRun) {
    verify(ops, job.mode, report, conflicted);
    if (report.conflicts.length === 0) fs.rmSync(journal, { force: true });
  }
  return report;
}

function inspect(op: Transfer): 'todo' | 'done' | 'conflict' | 'missing' {
  const hasTo = fs.existsSync(op.to);
  const hasFrom = fs.existsSync(op.from);
  if (!hasTo) return hasFrom ? 'todo' : 'missing';
  if (!hasFrom) return 'done';
  return sameContent(op.from, op.to) ? 'done' : 'conflict';
}

function transferOne(op: Transfer, mode: 'copy' | 'move'): void {
  fs.mkdirSync(path.dirname(op.to), { recursive: true });
  if (mode === 'move') {
    try {
      fs.linkSync(op.from, op.to); // fails with EEXIST instead of overwriting
      fs.unlinkSync(op.from);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err; // other filesystem: copy, then unlink below
    }
  }
  const tmp = tempName(op.to);
  fs.copyFileSync(op.from, tmp);
  fs.linkSync(tmp, op.to);
  fs.unlinkSync(tmp);
  if (mode === 'move') fs.unlinkSync(op.from);
}

/** Every planned file is at its destination (a conflicting one stays at its source), per-class counts match. */
function verify(ops: Transfer[], mode: 'copy' | 'move', report: TransferReport, conflicted: Set<string>): void {
  const problems: string[] = [];
  for (const op of ops) {
    if (!fs.existsSync(op.to)) problems.push(`missing after the run: ${op.to}`);
    if (mode === 'move' && fs.existsSync(op.from) && !conflicted.has(op.to)) problems.push(`still in the source after a move: ${op.from}`);
  }
  for (const r of report.classes) {
    const dir = path.dirname(ops.find((o) => o.label === r.label)!.to);
    const wanted = new Set(ops.filter((o) => o.label === r.label).map((o) => path.basename(o.to)));
    const have = listImages(dir).filter((n) => wanted.has(n)).length;
    if (have !== r.planned) problems.push(`${dir}: ${have} of ${r.planned} planned files present`);
  }
  if (problems.length) throw new Error(`verification failed:\n  ${problems.slice(0, 20).join('\n  ')}`);
}

function tempName(to: string): string {
  return path.join(path.dirname(to), `.${path.basename(to)}.devise-tmp`);
}

function sameContent(a: string, b: string): boolean {
  const sa = fs.statSync(a);
  const sb = fs.statSync(b);
  if (sa.ino === sb.ino && sa.dev === sb.dev) return true;
  return sa.size === sb.size && fs.readFileSync(a).equals(fs.readFileSync(b));
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** Resolves symlinks of the longest existing prefix, so not-yet-created destinations compare correctly. */
function realish(p: string): string {
  const abs = path.resolve(p);
  if (fs.existsSync(abs)) return fs.realpathSync(abs);
  return path.join(realish(path.dirname(abs)), path.basename(abs));
}

/** Throws when one folder is the other or contains it. */
export function refuseOverlap(a: string, b: string): void {
  const ra = realish(a);
  const rb = realish(b);
  const inside = (x: string, y: string) => x === y || x.startsWith(y + path.sep);
  if (inside(ra, rb) || inside(rb, ra)) throw new Error(`source and destination overlap (${ra} and ${rb}); choose a destination outside the source`);
}

