/**
 * The labelled-file records every reader produces and every loader consumes.
 *
 *   const { train, valid } = splitItems(items, 0.2, 42);   // per-class, seeded
 *   displayName('grizzly+bear');                            // 'grizzly bear'
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, deriveSeed, hashString } from './rng';

export type Split = 'train' | 'valid' | 'test';

/** One image file and its class name (AWA2 spelling, `+` kept). */
export interface Item {
  path: string;
  label: string;
  split: Split;
}

/** Extensions the pipeline decodes; anything else in a class folder is ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

/** Human-readable class name: AWA2 joins words with `+` (`grizzly+bear` → `grizzly bear`). */
export function displayName(label: string): string {
  return label.replace(/\+/g, ' ');
}

/**
 * Image files directly inside `dir`, sorted by name (so every later random choice is reproducible). A broken or
 * looping symbolic link with an image name is listed too: the readable-items probe reports it once by path and skips
 * it (it never drops its whole class folder).
 */
export function listImages(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()) && (isKind(dir, e, 'file') || isDeadLink(dir, e)))
    .map((e) => e.name)
    .sort();
}

/** Whether a directory entry is a file / folder, following symbolic links (a linked dataset counts). */
function isKind(dir: string, e: fs.Dirent, kind: 'file' | 'dir'): boolean {
  if (!e.isSymbolicLink()) return kind === 'file' ? e.isFile() : e.isDirectory();
  const st = statOrUndefined(path.join(dir, e.name));
  return st !== undefined && (kind === 'file' ? st.isFile() : st.isDirectory());
}

/** stat, or undefined for a missing target or a link loop (ELOOP), which are reported where they matter. */
function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
    throw err;
  }
}

/** A symbolic link whose target is missing or loops back on itself. */
function isDeadLink(dir: string, e: fs.Dirent): boolean {
  return e.isSymbolicLink() && statOrUndefined(path.join(dir, e.name)) === undefined;
}

/** How readers treat a class folder with no images or one they cannot read. */
export interface ClassFolderOptions {
  /** Leave such folders out with a warning instead of stopping with an error (CLIs: --skip-empty). */
  skipEmpty?: boolean;
  /** Where the skip warnings go (default console.warn). */
  onWarning?: (message: string) => void;
}

/** Checks that a dataset root exists and is a folder; the error says which path and what to pass instead. */
export function checkDatasetRoot(root: string): void {
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st) {
    let up = path.dirname(path.resolve(root));
    while (!fs.existsSync(up) && up !== path.dirname(up)) up = path.dirname(up);
    throw new Error(`dataset folder ${root} does not exist (the nearest existing folder is ${up}): pass a folder with train/<class>/ or <class>/ images, or an AWA2 root`);
  }
  if (!st.isDirectory()) throw new Error(`${root} is a file, not a dataset folder: pass the folder that holds the class folders (train/<class>/, <class>/) or an AWA2 root`);
}

/**
 * The images of one class folder, under the one rule every layout follows: a folder with no images, or one that
 * cannot be read, is an error naming it, unless `skipEmpty` (then it is left out with a warning: returns []).
 */
export function classFolderImages(dir: string, opts: ClassFolderOptions = {}): string[] {
  let files: string[];
  let problem: string;
  try {
    files = listImages(dir);
    if (files.length) return files;
    problem = `class folder ${dir} has no images (${IMAGE_EXTENSIONS.join('/')})`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem = `cannot read class folder ${dir} (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message})`;
  }
  if (opts.skipEmpty) {
    (opts.onWarning ?? ((m: string) => console.warn(m)))(`warning: skipping ${problem.replace(/^cannot read /, 'unreadable ')}`);
    return [];
  }
  throw new Error(`${problem}: add images (or fix its permissions), remove the folder, or leave such folders out with --skip-empty (skipEmpty)`);
}

/**
 * Subfolders of `dir`, sorted; [] when `dir` does not exist. A symbolic link that leads back to `dir` or a folder
 * above it (a self-link at the data root, which would make a class of the whole dataset) and a looping or broken
 * link are not classes: they are left out, and `warn` says which and how to remove them.
 */
export function listDirs(dir: string, warn: (message: string) => void = (m) => console.warn(m)): string[] {
  if (!fs.existsSync(dir)) return [];
  const real = fs.realpathSync(dir);
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => {
      if (e.name.startsWith('.')) return false;
      if (!e.isSymbolicLink()) return e.isDirectory();
      const link = path.join(dir, e.name);
      const target = fs.readlinkSync(link);
      const st = statOrUndefined(link);
      if (!st) {
        const loops = fs.lstatSync(path.resolve(dir, target), { throwIfNoEntry: false }) !== undefined;
        warn(`warning: ignoring ${link}: a ${loops ? 'looping' : 'broken'} symbolic link (to ${target}); remove it (rm '${link}')`);
        return false;
      }
      if (!st.isDirectory()) return false;
      const to = fs.realpathSync(link);
      if (real === to || real.startsWith(to + path.sep)) {
        warn(`warning: ignoring ${link}: a symbolic link to ${to === real ? 'the data folder itself' : `${to}, a folder above the data folder`} (not a class); remove it (rm '${link}')`);
        return false;
      }
      return true;
    })
    .map((e) => e.name)
    .sort();
}

/** Seeded per-class split (fastai `split_by_rand_pct`, but stratified so every class keeps train images). */
/**
 * At most `n` items per label: the first `n` in path order, so every run with the same `n` reads the same files
 * (a quick run on a big dataset; the split is then made inside that subset).
 */
export function firstPerClass(items: readonly Item[], n: number): Item[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`perClass must be a whole number ≥ 1, got ${n}`);
  const out: Item[] = [];
  for (const group of groupBy(items, (it) => it.label).values()) out.push(...group.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, n));
  return out;
}

export function splitItems(items: readonly Item[], validPct: number, seed = 0): { train: Item[]; valid: Item[] } {
  if (!(validPct >= 0 && validPct < 1)) throw new Error(`validPct must be in [0, 1), got ${validPct}`);
  const byLabel = groupBy(items, (it) => it.label);
  const train: Item[] = [];
  const valid: Item[] = [];
  for (const [label, group] of byLabel) {
    const sorted = group.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const shuffled = new Rng(deriveSeed(seed, hashString(label))).shuffle(sorted);
    const k = Math.round(shuffled.length * validPct);
    shuffled.forEach((it, i) => (i < k ? valid : train).push({ ...it, split: i < k ? 'valid' : 'train' }));
  }
  return { train, valid };
}

/** Groups values by key, keeping first-seen key order. */
export function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = out.get(k);
    if (g) g.push(x);
    else out.set(k, [x]);
  }
  return out;
}
