/**
 * Batches of normalised image tensors with shuffling, seeded augmentation and prefetch, plus the
 * `imageDataBunch` factory (fastai `ImageDataBunch.from_folder`) over folder-per-class or AWA2 roots.
 *
 *   const data = await imageDataBunch({ root: 'data_samples', size: 224, bs: 16, preprocessing: m.preprocessing });
 *   data.train.setEpoch(0);
 *   for await (const { x, y } of data.train) { ...; tf.dispose([x, y]); }   // the consumer disposes
 *
 * Prefetch: while the consumer trains on batch k, batches k+1..k+prefetch decode in libvips' own
 * threads (sharp is asynchronous; the JS geometry pass runs when the main thread is free); at most
 * `prefetch + 1` batches of pixels exist at once. Tensors are
 * created only when a batch is handed out, so an abandoned loop leaks none. Unreadable files are
 * reported once by path and skipped; nothing is ever deleted.
 */
import * as path from 'node:path';
import { tf } from '../backend/index';
import { type Preprocessing, normalizeInto } from '../preprocessing';
import { type AugmentOptions, CENTER, applyTransforms, decodeImage, getTransforms, sampleParams } from './augment';
import { type Awa2SplitName, isAwa2Root, readAwa2 } from './awa2';
import { readFolders } from './folders';
import { checkDatasetRoot, type ClassFolderOptions, firstPerClass, type Item, splitItems } from './items';
import { decodeFailure, dropUnreadable, isUnreadable, markUnreadable, settleReadable, type Unreadable } from './readable';
import { Rng, deriveSeed } from './rng';

export interface Batch {
  x: tf.Tensor4D;
  /** int32 index into the loader's classes. */
  y: tf.Tensor1D;
  items: Item[];
}

export interface DataLoader extends AsyncIterable<Batch> {
  /** Batches per epoch. */
  readonly length: number;
  readonly items: Item[];
  /** Reseeds shuffle and augmentation deterministically per (seed, epoch). */
  setEpoch(epoch: number): void;
}

export interface DataBunch {
  /** Classes the train/valid labels index into. */
  classes: string[];
  train: DataLoader;
  valid: DataLoader;
  test?: DataLoader;
  /** Classes the test labels index into (unseen classes for zero-shot). */
  testClasses?: string[];
  size: number;
  batchSize: number;
  preprocessing: Preprocessing;
  /** Files of the dataset left out because they cannot be read (each reported once when the bunch was built). */
  unreadable?: Unreadable[];
}

export interface LoaderOptions {
  classes: string[];
  size: number;
  bs: number;
  preprocessing: Preprocessing;
  shuffle?: boolean;
  /** Drop a last partial batch (fastai does for training). */
  dropLast?: boolean;
  /** Augmentation, or null for center crop only. */
  augment?: Required<AugmentOptions> | null;
  seed?: number;
  /** Batches decoded ahead of the one being consumed. */
  prefetch?: number;
  /** Shared record of unreadable files (path → reason), so each is reported once across loaders. */
  badFiles?: Map<string, string>;
  /** Called once per unreadable file; default prints a warning. */
  onBadFile?: (file: string, reason: string) => void;
}

interface Prepared {
  pixels: Float32Array;
  labels: Int32Array;
  items: Item[];
}

/** A DataLoader over image files. */
export class ImageLoader implements DataLoader {
  readonly items: Item[];
  readonly badFiles: Map<string, string>;
  /** Batches whose decoding has started (this epoch's loop); shows how far prefetch runs ahead. */
  batchesStarted = 0;
  private readonly opts: Required<Omit<LoaderOptions, 'badFiles'>>;
  private readonly index: Map<string, number>;
  private epoch = 0;

  constructor(items: Item[], opts: LoaderOptions) {
    this.items = items;
    this.badFiles = opts.badFiles ?? new Map();
    this.opts = {
      classes: opts.classes,
      size: opts.size,
      bs: opts.bs,
      preprocessing: opts.preprocessing,
      shuffle: opts.shuffle ?? false,
      dropLast: opts.dropLast ?? false,
      augment: opts.augment ?? null,
      seed: opts.seed ?? 0,
      prefetch: opts.prefetch ?? 2,
      onBadFile: opts.onBadFile ?? ((file, reason) => console.warn(`skipping unreadable image ${file}: ${reason}`)),
    };
    this.index = new Map(opts.classes.map((c, i) => [c, i]));
    const stray = items.find((it) => !this.index.has(it.label));
    if (stray) throw new Error(`${stray.path}: label '${stray.label}' is not one of the ${opts.classes.length} classes`);
  }

  get length(): number {
    const n = this.items.length;
    return this.dropsLast() ? Math.floor(n / this.opts.bs) : Math.ceil(n / this.opts.bs);
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** Item indices in this epoch's order. */
  order(): number[] {
    const idx = this.items.map((_, i) => i);
    return this.opts.shuffle ? new Rng(deriveSeed(this.opts.seed, this.epoch, 0x5f)).shuffle(idx) : idx;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const { bs, size, prefetch } = this.opts;
    const order = this.order();
    const epoch = this.epoch;
    const pending: Promise<Prepared>[] = [];
    let next = 0;
    this.batchesStarted = 0;
    // While batch k is consumed, batches k+1..k+prefetch decode: prefetch + 1 batches of pixels at most.
    const fill = () => {
      while (pending.length < Math.max(1, prefetch) && next < this.length) {
        pending.push(this.prepare(order.slice(next * bs, (next + 1) * bs), epoch));
        next++;
        this.batchesStarted = next;
      }
    };
    fill();
    while (pending.length) {
      const b = await pending.shift()!;
      fill();
      if (b.items.length === 0) continue; // every file of this batch was unreadable
      yield { x: tf.tensor4d(b.pixels, [b.items.length, size, size, 3]), y: tf.tensor1d(b.labels, 'int32'), items: b.items };
    }
    // A file that passed the probe but failed to decode here is gone from the list from now on (the list is the
    // bunch's, or the caller's for embedImages): the rows of this pass and the list agree, and every later consumer
    // sees the same items. Only after the pass: the order above indexes into the list.
    dropUnreadable(this.items);
  }

  private dropsLast(): boolean {
    return this.opts.dropLast && this.items.length > this.opts.bs;
  }

  /** Decodes and augments one batch; unreadable files are recorded and left out (never thrown). */
  private async prepare(indices: number[], epoch: number): Promise<Prepared> {
    const { size, augment, seed, preprocessing } = this.opts;
    const decoded = await Promise.all(
      indices.map(async (i) => {
        const item = this.items[i]!;
        if (this.badFiles.has(item.path) || isUnreadable(item.path)) return null;
        try {
          const img = await decodeImage(item.path, size);
          const params = augment ? sampleParams(new Rng(deriveSeed(seed, epoch, i)), augment) : CENTER;
          return { item, rgb: applyTransforms(img, size, params) };
        } catch (err) {
          this.reportBad(item.path, decodeFailure(item.path, err));
          return null;
        }
      }),
    );
    const ok = decoded.filter((d): d is { item: Item; rgb: Uint8Array } => d !== null);
    const per = size * size * 3;
    const pixels = new Float32Array(ok.length * per);
    ok.forEach((d, k) => normalizeInto(d.rgb, pixels, k * per, preprocessing));
    return { pixels, labels: Int32Array.from(ok, (d) => this.index.get(d.item.label)!), items: ok.map((d) => d.item) };
  }

  private reportBad(file: string, reason: string): void {
    if (this.badFiles.has(file)) return;
    this.badFiles.set(file, reason);
    // Once per process: a second loader over the same file (embedImages after training) does not report it again.
    if (markUnreadable(file, reason)) this.opts.onBadFile(file, reason);
  }
}

/** Builds train/valid(/test) loaders from a folder-per-class root or an AWA2 root (fastai `ImageDataBunch`). */
/** Train/valid classes of a dataset root (AWA2 layout or folders), as imageDataBunch picks them, without reading images. */
export function datasetClasses(root: string, split?: Awa2SplitName, opts: ClassFolderOptions = {}): string[] {
  checkDatasetRoot(root);
  if (!isAwa2Root(root)) return readFolders(root, { ...opts, onWarning: () => {} }).classes;
  const awa = readAwa2(root, { split, ...opts, onWarning: () => {} });
  if (!opts.skipEmpty) return awa.trainClasses;
  // Skipping empty folders: the classes imageDataBunch keeps (those with training images).
  const present = new Set(awa.items.filter((it) => it.split === 'train').map((it) => it.label));
  return awa.trainClasses.filter((c) => present.has(c));
}

export async function imageDataBunch(opts: {
  root: string;
  size?: number;
  bs?: number;
  validPct?: number;
  seed?: number;
  preprocessing: Preprocessing;
  augment?: boolean | AugmentOptions;
  classes?: string[];
  /** Which AWA2 zero-shot split (AWA2 roots only): the dataset's `standard` one or Xian et al.'s `proposed`. */
  split?: Awa2SplitName;
  /** Leave class folders with no images (or unreadable) out with a warning instead of an error. */
  skipEmpty?: boolean;
  /** At most this many images per class (train and unseen alike; the first in path order): a quick run on a big dataset. */
  perClass?: number;
  onWarning?: (message: string) => void;
  prefetch?: number;
  onBadFile?: (file: string, reason: string) => void;
}): Promise<DataBunch> {
  const { root, size = 224, bs = 64, validPct = 0.2, seed = 0, preprocessing, augment = true } = opts;
  let classes: string[];
  let testClasses: string[];
  let train: Item[];
  let valid: Item[];
  let test: Item[];
  let where: (label: string) => string;
  if (isAwa2Root(root)) {
    const awa = readAwa2(root, { split: opts.split, skipEmpty: opts.skipEmpty, onWarning: opts.onWarning });
    classes = opts.classes ?? awa.trainClasses;
    if (opts.skipEmpty && !opts.classes) {
      const present = new Set(awa.items.filter((it) => it.split === 'train').map((it) => it.label));
      classes = classes.filter((c) => present.has(c));
    }
    testClasses = awa.testClasses;
    const items = opts.perClass ? firstPerClass(awa.items, opts.perClass) : awa.items;
    ({ train, valid } = splitItems(items.filter((it) => it.split === 'train'), validPct, seed));
    test = items.filter((it) => it.split === 'test');
    where = (label) => path.join(root, 'JPEGImages', label);
  } else {
    const ds = readFolders(root, { skipEmpty: opts.skipEmpty, onWarning: opts.onWarning });
    classes = opts.classes ?? ds.classes;
    testClasses = ds.testClasses;
    const bySplit = (split: Item['split']) => {
      const items = ds.items.filter((it) => it.split === split);
      return opts.perClass ? firstPerClass(items, opts.perClass) : items;
    };
    train = bySplit('train');
    valid = bySplit('valid');
    if (valid.length === 0) ({ train, valid } = splitItems(train, validPct, seed));
    test = bySplit('test');
    where = (label) => (ds.layout === 'split' ? path.join(root, 'train', label) : path.join(root, label));
  }
  const wanted = new Set(classes);
  train = train.filter((it) => wanted.has(it.label));
  valid = valid.filter((it) => wanted.has(it.label));
  const counts = new Map<string, number>();
  for (const it of train) counts.set(it.label, (counts.get(it.label) ?? 0) + 1);
  const missing = classes.filter((c) => !counts.get(c));
  if (missing.length) throw new Error(`no training images for class${missing.length > 1 ? 'es' : ''} ${missing.map((c) => `'${c}' (${where(c)})`).join(', ')}: the folder is missing or empty; add images, or leave the class out (--classes / { classes }, or --skip-empty / { skipEmpty })`);

  // The one list of readable items: settled here, once, so training, indices, interpretation, search examples and
  // export (which rebuilds this bunch from run.json) all see the same items. Filtering after the split keeps every
  // good file in the split it would have had without the bad ones.
  const { readable, unreadable } = await settleReadable([...train, ...valid, ...test], { onBadFile: opts.onBadFile });
  const ok = new Set(readable);
  [train, valid, test] = [train, valid, test].map((list) => list.filter((it) => ok.has(it)));
  const empty = emptyClasses(classes, train, unreadable);
  const emptyTest = emptyClasses(testClasses, test, unreadable);
  if (empty.length + emptyTest.length) {
    const what = [...empty, ...emptyTest].map((e) => `'${e.label}' (${e.files} file${e.files > 1 ? 's' : ''} in ${path.dirname(e.example)}, none readable)`).join(', ');
    if (!opts.skipEmpty) {
      throw new Error(`no readable ${empty.length ? 'training' : 'test'} image for class${empty.length + emptyTest.length > 1 ? 'es' : ''} ${what}: replace the files (each is listed above), or leave the class out with --skip-empty (skipEmpty)`);
    }
    (opts.onWarning ?? ((m: string) => console.warn(m)))(`warning: skipping class${empty.length + emptyTest.length > 1 ? 'es' : ''} ${what}`);
    const drop = new Set([...empty, ...emptyTest].map((e) => e.label));
    classes = classes.filter((c) => !drop.has(c));
    testClasses = testClasses.filter((c) => !drop.has(c));
    [train, valid, test] = [train, valid, test].map((list) => list.filter((it) => !drop.has(it.label)));
  }

  const badFiles = new Map<string, string>(unreadable.map((u) => [u.path, u.reason]));
  const common = { size, bs, preprocessing, seed, badFiles, prefetch: opts.prefetch, onBadFile: opts.onBadFile };
  const aug = augment === false ? null : getTransforms(augment === true ? {} : augment);
  return {
    classes,
    train: new ImageLoader(train, { ...common, classes, shuffle: true, dropLast: true, augment: aug }),
    valid: new ImageLoader(valid, { ...common, classes }),
    test: test.length ? new ImageLoader(test, { ...common, classes: testClasses }) : undefined,
    testClasses: test.length ? testClasses : undefined,
    size,
    batchSize: bs,
    preprocessing,
    unreadable,
  };
}

/** Classes of `classes` that had files but none readable: every one of their files is in `unreadable`. */
function emptyClasses(classes: readonly string[], kept: readonly Item[], unreadable: readonly Unreadable[]): { label: string; files: number; example: string }[] {
  const have = new Set(kept.map((it) => it.label));
  const out: { label: string; files: number; example: string }[] = [];
  for (const label of classes) {
    if (have.has(label)) continue;
    const bad = unreadable.filter((u) => u.label === label);
    if (bad.length) out.push({ label, files: bad.length, example: bad[0]!.path });
  }
  return out;
}
