/**
 * Reader for the Animals with Attributes 2 layout as downloaded:
 * `JPEGImages/<class>/<class>_<id>.jpg`, `classes.txt` (`<index>\t<name>` lines, leading spaces),
 * `trainclasses.txt` (40 seen classes) and `testclasses.txt` (10 unseen, zero-shot classes).
 *
 *   const awa = readAwa2('data_samples');   // or the real AWA2 root
 *   awa.classes.length;                     // 50
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDatasetRoot, type ClassFolderOptions, classFolderImages, type Item, listDirs } from './items';

export interface Awa2Dataset {
  root: string;
  /** All classes in `classes.txt` order. */
  classes: string[];
  /** Seen classes (`trainclasses.txt` order). */
  trainClasses: string[];
  /** Unseen classes (`testclasses.txt` order). */
  testClasses: string[];
  /** Every image under `JPEGImages/` of a train or test class; split 'train' or 'test' by class. */
  items: Item[];
}

/** Reads a class list: one name per line, optionally prefixed by an index (`   1\tantelope`). */
export function readClassList(file: string): string[] {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) throw new Error(`class list ${file} does not exist (one class name per line, e.g. AWA2's trainclasses.txt)`);
  if (st.isDirectory()) throw new Error(`class list ${file} is a folder, not a file: pass the .txt file with one class name per line`);
  const names: string[] = [];
  fs.readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const m = /^\s*(?:\d+\s+)?(\S+)\s*$/.exec(line);
      if (!m) throw new Error(`${file}:${i + 1}: expected '<name>' or '<index> <name>', got '${line}'`);
      names.push(m[1]!);
    });
  if (new Set(names).size !== names.length) throw new Error(`${file}: duplicate class names`);
  return names;
}

/**
 * AWA2 zero-shot splits. `standard`: the dataset's own trainclasses.txt / testclasses.txt (Lampert et al.), whose
 * unseen classes overlap ImageNet-1k, so an ImageNet-pretrained backbone has already seen them. `proposed`: Xian
 * et al. 2018's split, whose 10 unseen classes are disjoint from ImageNet-1k (a true zero-shot test).
 */
export type Awa2SplitName = 'standard' | 'proposed';

/** The unseen classes of Xian et al.'s proposed split (testclasses.txt of "Zero-Shot Learning — The Good, the Bad and the Ugly"). */
export const AWA2_PROPOSED_UNSEEN = ['sheep', 'dolphin', 'bat', 'seal', 'blue+whale', 'rat', 'horse', 'walrus', 'giraffe', 'bobcat'];

/** The class lists an AWA2 root must have. */
const AWA2_LISTS = ['classes.txt', 'trainclasses.txt', 'testclasses.txt'];

/**
 * Reads an AWA2 root; the image folder is optional (metadata-only roots give no items), and a class without a
 * JPEGImages/<class>/ folder has no items. An existing class folder with no images (or unreadable) is an error
 * naming it, unless `skipEmpty`.
 */
export function readAwa2(root: string, opts: { split?: Awa2SplitName } & ClassFolderOptions = {}): Awa2Dataset {
  checkDatasetRoot(root);
  const missing = AWA2_LISTS.filter((f) => !fs.existsSync(path.join(root, f)));
  if (missing.length) {
    const have = AWA2_LISTS.filter((f) => !missing.includes(f));
    throw new Error(`${root} looks like an AWA2 root (it has ${have.join(' and ')}) but ${missing.map((f) => path.join(root, f)).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: ` +
      `add ${missing.length > 1 ? 'them' : 'it'} (AWA2's own class lists, one class per line), or use folder-per-class images (train/<class>/) without class lists`);
  }
  const classes = readClassList(path.join(root, 'classes.txt'));
  let trainClasses = readClassList(path.join(root, 'trainclasses.txt'));
  let testClasses = readClassList(path.join(root, 'testclasses.txt'));
  if (opts.split === 'proposed') {
    // Every class of classes.txt not in the proposed unseen list is seen (Xian's trainvalclasses).
    const unseen = new Set(AWA2_PROPOSED_UNSEEN);
    const listed = new Set([...trainClasses, ...testClasses]);
    testClasses = AWA2_PROPOSED_UNSEEN.filter((c) => listed.has(c));
    trainClasses = classes.filter((c) => listed.has(c) && !unseen.has(c));
  }
  const known = new Set(classes);
  for (const c of [...trainClasses, ...testClasses]) {
    if (!known.has(c)) throw new Error(`${root}: class '${c}' of trainclasses/testclasses.txt is not in classes.txt`);
  }
  const overlap = trainClasses.filter((c) => testClasses.includes(c));
  if (overlap.length) throw new Error(`${root}: classes in both trainclasses.txt and testclasses.txt: ${overlap.join(', ')}`);

  const imagesDir = path.join(root, 'JPEGImages');
  const items: Item[] = [];
  const present = new Set(listDirs(imagesDir, opts.onWarning));
  for (const [split, list] of [['train', trainClasses], ['test', testClasses]] as const) {
    for (const label of list) {
      if (!present.has(label)) continue;
      const dir = path.join(imagesDir, label);
      for (const f of classFolderImages(dir, opts)) items.push({ path: path.join(dir, f), label, split });
    }
  }
  return { root, classes, trainClasses, testClasses, items };
}

/** True when `root` looks like an AWA2 root (has one of its class lists) rather than folder-per-class. */
export function isAwa2Root(root: string): boolean {
  return AWA2_LISTS.some((f) => fs.existsSync(path.join(root, f)));
}
