/**
 * Real photos from Tiny ImageNet (Stanford CS231n, 200 ImageNet classes × 500 training photos, 64×64): the 13 AWA2
 * classes it has, in AWA2 layout (`tiny-imagenet-awa2/`: JPEGImages/<class>/<class>_1NNNN.jpg, classes.txt,
 * trainclasses.txt, testclasses.txt, wnids.tsv), and 20 further animal classes that are not AWA2 classes
 * (`tiny-imagenet-animals/<class>/`, 100 photos each) for open-vocabulary zero-shot. Photos are copied byte for
 * byte; `<wnid>_<N>.JPEG` becomes `<class>_<10001 + N>.jpg`. Read from the official zip (streamed) or its folder.
 *
 *   await buildTinyImagenet({ from: 'tiny-imagenet-200.zip', out: 'data' });   // data/tiny-imagenet-awa2, data/tiny-imagenet-animals
 *   // ImageNet photos: ImageNet-pretrained backbones have seen these classes (say so wherever results are shown).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';

/** The official archive (237 MB; users with internet). */
export const TINY_IMAGENET_URL = 'http://cs231n.stanford.edu/tiny-imagenet-200.zip';

/** AWA2 label → ImageNet class, in `classes.txt` order; `stand-in` marks the closest ImageNet class of an AWA2 class it lacks. */
export const TINY_IMAGENET_AWA2: readonly { label: string; wnid: string; kind: 'same class' | 'stand-in' }[] = [
  { label: 'chihuahua', wnid: 'n02085620', kind: 'same class' },
  { label: 'german+shepherd', wnid: 'n02106662', kind: 'same class' },
  { label: 'persian+cat', wnid: 'n02123394', kind: 'same class' },
  { label: 'lion', wnid: 'n02129165', kind: 'same class' },
  { label: 'grizzly+bear', wnid: 'n02132136', kind: 'same class' },
  { label: 'pig', wnid: 'n02395406', kind: 'same class' },
  { label: 'ox', wnid: 'n02403003', kind: 'same class' },
  { label: 'gorilla', wnid: 'n02480855', kind: 'same class' },
  { label: 'chimpanzee', wnid: 'n02481823', kind: 'same class' },
  { label: 'elephant', wnid: 'n02504458', kind: 'same class' }, // African elephant
  { label: 'buffalo', wnid: 'n02410509', kind: 'stand-in' }, // bison
  { label: 'antelope', wnid: 'n02423022', kind: 'stand-in' }, // gazelle
  { label: 'sheep', wnid: 'n02415577', kind: 'stand-in' }, // bighorn
];

/** The AWA2 standard split's unseen classes that Tiny ImageNet has (the other 10 are seen). */
export const TINY_IMAGENET_AWA2_UNSEEN: readonly string[] = ['persian+cat', 'pig', 'chimpanzee'];

/** Animal classes that are not AWA2 classes: labels only a word vector knows. */
export const TINY_IMAGENET_ANIMALS: readonly { label: string; wnid: string }[] = [
  { label: 'koala', wnid: 'n01882714' },
  { label: 'goose', wnid: 'n01855672' },
  { label: 'king+penguin', wnid: 'n02056570' },
  { label: 'albatross', wnid: 'n02058221' },
  { label: 'black+stork', wnid: 'n02002724' },
  { label: 'alligator', wnid: 'n01698640' },
  { label: 'bullfrog', wnid: 'n01641577' },
  { label: 'golden+retriever', wnid: 'n02099601' },
  { label: 'labrador+retriever', wnid: 'n02099712' },
  { label: 'yorkshire+terrier', wnid: 'n02094433' },
  { label: 'poodle', wnid: 'n02113799' },
  { label: 'tabby+cat', wnid: 'n02123045' },
  { label: 'egyptian+cat', wnid: 'n02124075' },
  { label: 'cougar', wnid: 'n02125311' },
  { label: 'guinea+pig', wnid: 'n02364673' },
  { label: 'camel', wnid: 'n02437312' },
  { label: 'orangutan', wnid: 'n02480495' },
  { label: 'baboon', wnid: 'n02486410' },
  { label: 'red+panda', wnid: 'n02509815' },
  { label: 'dugong', wnid: 'n02074367' },
];

/** Photos kept per class: all of Tiny ImageNet's 500 for the AWA2 classes, the first 100 for the extra animals. */
export const PHOTOS_PER_CLASS = { awa2: 500, animals: 100 } as const;

/** The two folders written under `out`. */
export const TINY_IMAGENET_FOLDERS = { awa2: 'tiny-imagenet-awa2', animals: 'tiny-imagenet-animals' } as const;

export interface BuildTinyImagenetOptions {
  /** `tiny-imagenet-200.zip` or its extracted folder (the one holding `train/`, or its parent). */
  from: string;
  /** Folder that receives `tiny-imagenet-awa2/` and `tiny-imagenet-animals/`. */
  out: string;
  /** Replace those folders when they exist (default: refuse). */
  force?: boolean;
  onProgress?: (photos: number) => void;
}

export interface TinyImagenetReport {
  awa2: string;
  animals: string;
  /** Photos written per class label. */
  photos: Record<string, number>;
}

/** Where a photo of the archive goes: `[folder key, class label, file name]`, or undefined when it is not kept. */
type Destination = ['awa2' | 'animals', string, string];

const BY_WNID = new Map<string, { key: 'awa2' | 'animals'; label: string }>([
  ...TINY_IMAGENET_AWA2.map((c) => [c.wnid, { key: 'awa2' as const, label: c.label }] as const),
  ...TINY_IMAGENET_ANIMALS.map((c) => [c.wnid, { key: 'animals' as const, label: c.label }] as const),
]);

/** Maps an archive path `…/train/<wnid>/images/<wnid>_<N>.JPEG` to its destination, if kept. */
function destination(entry: string): Destination | undefined {
  const m = /(?:^|\/)train\/(n\d{8})\/images\/\1_(\d+)\.JPEG$/.exec(entry);
  if (!m) return undefined;
  const cls = BY_WNID.get(m[1]!);
  const n = Number(m[2]);
  if (!cls || n >= PHOTOS_PER_CLASS[cls.key]) return undefined;
  return [cls.key, cls.label, `${cls.label}_${10001 + n}.jpg`];
}

/** The metadata files of the AWA2-layout folder, exactly as in AWA2 (`classes.txt`: 7-wide index, tab, name). */
function awa2Metadata(): Record<string, string> {
  const lines = (xs: string[]) => xs.map((x) => `${x}\n`).join('');
  const labels = TINY_IMAGENET_AWA2.map((c) => c.label);
  return {
    'classes.txt': lines(labels.map((l, i) => `${String(i + 1).padStart(7)}\t${l}`)),
    'trainclasses.txt': lines(labels.filter((l) => !TINY_IMAGENET_AWA2_UNSEEN.includes(l))),
    'testclasses.txt': lines(labels.filter((l) => TINY_IMAGENET_AWA2_UNSEEN.includes(l))),
    'wnids.tsv': lines(['label\twnid\tkind', ...TINY_IMAGENET_AWA2.map((c) => `${c.label}\t${c.wnid}\t${c.kind}`)]),
    'README.md': `# ${TINY_IMAGENET_FOLDERS.awa2}: real photos in AWA2 layout\n\n` +
      `${TINY_IMAGENET_AWA2.length} AWA2 classes × ${PHOTOS_PER_CLASS.awa2} photos (64×64 JPEG) from Tiny ImageNet's training split ` +
      `(${TINY_IMAGENET_URL}), written by \`npm run data -- tiny-imagenet\`. \`wnids.tsv\` maps each label to its ImageNet class ` +
      '(buffalo, antelope and sheep are stand-ins: bison, gazelle, bighorn). `testclasses.txt`: the AWA2 standard-split unseen classes present.\n\n' +
      'ImageNet photos: ImageNet-pretrained backbones have seen these classes, so "unseen" means unseen by the DeViSE head, not by the ' +
      "backbone. ImageNet's terms apply (non-commercial research and education).\n",
  };
}

function animalsMetadata(): Record<string, string> {
  return {
    'wnids.tsv': ['label\twnid', ...TINY_IMAGENET_ANIMALS.map((c) => `${c.label}\t${c.wnid}`)].map((l) => `${l}\n`).join(''),
    'README.md': `# ${TINY_IMAGENET_FOLDERS.animals}: real photos of ${TINY_IMAGENET_ANIMALS.length} non-AWA2 animal classes\n\n` +
      `${PHOTOS_PER_CLASS.animals} photos (64×64 JPEG) per class, folder per class, from Tiny ImageNet's training split, written by ` +
      '`npm run data -- tiny-imagenet`. Labels only a word vector knows: use them for open-vocabulary zero-shot. ImageNet\'s terms apply.\n',
  };
}

/** Calls `onPhoto(entry, bytes)` for every file of the archive or folder whose path `keep` accepts. */
async function eachPhoto(from: string, keep: (entry: string) => boolean, onPhoto: (entry: string, bytes: Uint8Array) => void): Promise<void> {
  const st = fs.statSync(from, { throwIfNoEntry: false });
  if (!st) throw new Error(`--from ${from} does not exist: pass tiny-imagenet-200.zip or the folder it extracts to`);
  if (st.isDirectory()) {
    const root = fs.existsSync(path.join(from, 'train')) ? from : path.join(from, 'tiny-imagenet-200');
    const train = path.join(root, 'train');
    if (!fs.existsSync(train)) throw new Error(`${from} is not a Tiny ImageNet folder: no train/<wnid>/images/ inside (pass tiny-imagenet-200.zip or the folder it extracts to)`);
    for (const wnid of fs.readdirSync(train).sort()) {
      const images = path.join(train, wnid, 'images');
      if (!fs.existsSync(images)) continue;
      for (const f of fs.readdirSync(images).sort()) {
        const entry = `train/${wnid}/images/${f}`;
        if (keep(entry)) onPhoto(entry, fs.readFileSync(path.join(images, f)));
      }
    }
    return;
  }
  // The zip is streamed: only the kept entries are inflated, and memory stays at one chunk plus one photo.
  await new Promise<void>((resolve, reject) => {
    const unzip = new Unzip();
    unzip.register(UnzipInflate);
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      stream.destroy();
      reject(err);
    };
    unzip.onfile = (file) => {
      if (!keep(file.name)) return;
      const parts: Uint8Array[] = [];
      file.ondata = (err, data, final) => {
        if (err) return fail(new Error(`${from}: ${file.name}: ${err.message}`));
        parts.push(data);
        if (final) {
          try {
            onPhoto(file.name, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
          } catch (e) {
            fail(e as Error);
          }
        }
      };
      file.start();
    };
    const stream = fs.createReadStream(from, { highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => {
      try {
        unzip.push(chunk as Buffer, false);
      } catch (e) {
        fail(new Error(`${from} is not a readable zip archive (${(e as Error).message}): pass tiny-imagenet-200.zip or the folder it extracts to`));
      }
    });
    stream.on('end', () => {
      try {
        unzip.push(new Uint8Array(0), true);
        if (!failed) resolve();
      } catch (e) {
        fail(new Error(`${from}: truncated zip archive (${(e as Error).message})`));
      }
    });
    stream.on('error', (e) => fail(e));
  });
}

/**
 * Builds `tiny-imagenet-awa2/` and `tiny-imagenet-animals/` under `out` from the Tiny ImageNet zip or folder. Both
 * are written to temp folders and renamed into place when complete; a class missing from the archive is an error.
 */
export async function buildTinyImagenet(opts: BuildTinyImagenetOptions): Promise<TinyImagenetReport> {
  const targets = { awa2: path.join(opts.out, TINY_IMAGENET_FOLDERS.awa2), animals: path.join(opts.out, TINY_IMAGENET_FOLDERS.animals) };
  for (const t of Object.values(targets)) {
    if (fs.existsSync(t) && !opts.force) throw new Error(`${t} already exists: remove it or pass --force to replace it`);
  }
  fs.mkdirSync(opts.out, { recursive: true });
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  const tmp = { awa2: targets.awa2 + suffix, animals: targets.animals + suffix };
  try {
    const photos: Record<string, number> = {};
    let total = 0;
    await eachPhoto(opts.from, (e) => destination(e) !== undefined, (entry, bytes) => {
      const [key, label, name] = destination(entry)!;
      const dir = key === 'awa2' ? path.join(tmp.awa2, 'JPEGImages', label) : path.join(tmp.animals, label);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, name), bytes);
      photos[label] = (photos[label] ?? 0) + 1;
      if ((++total & 0xff) === 0) opts.onProgress?.(total);
    });
    const missing = [...TINY_IMAGENET_AWA2, ...TINY_IMAGENET_ANIMALS].filter((c) => !photos[c.label]);
    if (missing.length) {
      throw new Error(`${opts.from}: no photos for ${missing.length} class(es): ${missing.map((c) => `${c.label} (${c.wnid})`).join(', ')}; ` +
        'expected train/<wnid>/images/<wnid>_<N>.JPEG as in tiny-imagenet-200.zip');
    }
    for (const [key, files] of [['awa2', awa2Metadata()], ['animals', animalsMetadata()]] as const) {
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(tmp[key], name), text);
    }
    for (const key of ['awa2', 'animals'] as const) {
      fs.rmSync(targets[key], { recursive: true, force: true });
      fs.renameSync(tmp[key], targets[key]);
    }
    return { ...targets, photos };
  } finally {
    for (const t of Object.values(tmp)) fs.rmSync(t, { recursive: true, force: true });
  }
}
