/**
 * Reader for the folder-per-class layout (fastai `ImageDataBunch.from_folder`):
 * `<root>/train/<class>/*.jpg`, `<root>/valid/<class>/...`, optional `<root>/test/<class>/...`; or, without a
 * `train/` folder, `<root>/<class>/*.jpg` (every image is a training item; valid is split off by `validPct`).
 *
 *   const { classes, items } = readFolders('out');   // classes = train/ class folders, sorted
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDatasetRoot, type ClassFolderOptions, classFolderImages, type Item, type Split, listDirs } from './items';

export interface FolderDataset {
  root: string;
  /** `split`: train/ valid/ test/ folders; `flat`: <root>/<class>/ only. */
  layout: 'split' | 'flat';
  /** Class folders of `train/`, sorted. */
  classes: string[];
  /** Class folders of `test/`, sorted ([] without a test split). */
  testClasses: string[];
  items: Item[];
}

/**
 * Reads `train/`, `valid/` and `test/` under `root` (or `<root>/<class>/` without them). A class folder with no
 * images, or one that cannot be read, is an error naming it in every layout; `skipEmpty` leaves it out with a warning.
 */
export function readFolders(root: string, opts: ClassFolderOptions = {}): FolderDataset {
  checkDatasetRoot(root);
  const trainDir = path.join(root, 'train');
  if (!fs.existsSync(trainDir)) return readClassFolders(root, opts);
  const items: Item[] = [];
  const perSplit: Record<Split, string[]> = { train: [], valid: [], test: [] };
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const label of listDirs(path.join(root, split), opts.onWarning)) {
      const dir = path.join(root, split, label);
      const files = classFolderImages(dir, opts);
      if (files.length) perSplit[split].push(label);
      for (const f of files) items.push({ path: path.join(dir, f), label, split });
    }
  }
  return { root, layout: 'split', classes: perSplit.train, testClasses: perSplit.test, items };
}

/** `<root>/<class>/*.jpg` with no split folders: every image is a training item. */
function readClassFolders(root: string, opts: ClassFolderOptions): FolderDataset {
  const items: Item[] = [];
  const classes: string[] = [];
  const dirs = listDirs(root, opts.onWarning);
  if (dirs.length === 0) {
    throw new Error(`${root} has no train/ folder and no class folders (expected <root>/train/<class>/*.jpg, <root>/<class>/*.jpg, or an AWA2 root with classes.txt)`);
  }
  for (const label of dirs) {
    const files = classFolderImages(path.join(root, label), opts);
    if (files.length) classes.push(label);
    for (const f of files) items.push({ path: path.join(root, label, f), label, split: 'train' });
  }
  if (classes.length === 0) throw new Error(`${root}: no class folder has images (expected <root>/<class>/*.jpg)`);
  return { root, layout: 'flat', classes, testClasses: [], items };
}
