/**
 * Reader for the folder-per-class layout (fastai `ImageDataBunch.from_folder`):
 * `<root>/train/<class>/*.jpg`, `<root>/valid/<class>/...`, optional `<root>/test/<class>/...`; or, without a
 * `train/` folder, `<root>/<class>/*.jpg` (every image is a training item; valid is split off by `validPct`).
 *
 *   const { classes, items } = readFolders('out');   // classes = train/ class folders, sorted
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Item, type Split, listDirs, listImages } from './items';

export interface FolderDataset {
  root: string;
  /** Class folders of `train/`, sorted. */
  classes: string[];
  /** Class folders of `test/`, sorted ([] without a test split). */
  testClasses: string[];
  items: Item[];
}

/** Reads `train/`, `valid/` and `test/` under `root`; a train class folder without images is an error. */
export function readFolders(root: string): FolderDataset {
  const trainDir = path.join(root, 'train');
  if (!fs.existsSync(trainDir)) return readClassFolders(root);
  const items: Item[] = [];
  const perSplit: Record<Split, string[]> = { train: [], valid: [], test: [] };
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const label of listDirs(path.join(root, split))) {
      const dir = path.join(root, split, label);
      const files = listImages(dir);
      if (split === 'train' && files.length === 0) throw new Error(`${dir}: class folder has no images (.jpg/.jpeg/.png/.webp); add images or remove the folder`);
      if (files.length) perSplit[split].push(label);
      for (const f of files) items.push({ path: path.join(dir, f), label, split });
    }
  }
  return { root, classes: perSplit.train, testClasses: perSplit.test, items };
}

/** `<root>/<class>/*.jpg` with no split folders: every image is a training item. */
function readClassFolders(root: string): FolderDataset {
  const classes = listDirs(root).filter((label) => listImages(path.join(root, label)).length > 0);
  if (classes.length === 0) {
    throw new Error(`${root}: no train/ folder and no class folders with images (expected <root>/train/<class>/*.jpg, <root>/<class>/*.jpg, or an AWA2 root with classes.txt)`);
  }
  const items = classes.flatMap((label) => listImages(path.join(root, label)).map((f): Item => ({ path: path.join(root, label, f), label, split: 'train' })));
  return { root, classes, testClasses: [], items };
}
