/**
 * An AWA2-shaped tree for scale rehearsals: `JPEGImages/<class>/<class>_<id>.jpg` for AWA2's 50 classes in AWA2's
 * proportions (its real per-class counts, 100 to 1,645 images; scaled to `images`), photo-like JPEGs of AWA2's
 * dimensions (mostly 500×375 and 375×500, some larger up to 1,500 px), and the standard split's class lists.
 *
 *   const tree = await makeAwa2Tree('/tmp/awa2-5k', { images: 5000 });   // reused when already complete
 *
 * A photo-like image here is a smooth colour field (a random 4×3 grid upscaled, tinted per class so the classes are
 * learnable) with Gaussian grain laid over it, so it decodes and compresses like a photo (~55 kB at 500×375; AWA2's
 * average is ~350 kB). Made with sharp in libvips' threads (~15–50 ms per image on a busy 2-core machine).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../lib/data/rng';

/** AWA2's 50 classes (classes.txt order) and their image counts in the real dataset: 37,322 in all. */
export const AWA2_CLASS_COUNTS: readonly (readonly [string, number])[] = [
  ['antelope', 1046], ['grizzly+bear', 852], ['killer+whale', 291], ['beaver', 193], ['dalmatian', 549], ['persian+cat', 747],
  ['horse', 1645], ['german+shepherd', 1033], ['blue+whale', 174], ['siamese+cat', 500], ['skunk', 188], ['mole', 100],
  ['tiger', 877], ['hippopotamus', 684], ['leopard', 720], ['moose', 704], ['spider+monkey', 291], ['humpback+whale', 709],
  ['elephant', 1038], ['gorilla', 872], ['ox', 728], ['fox', 664], ['sheep', 1420], ['seal', 988], ['chimpanzee', 728],
  ['hamster', 779], ['squirrel', 1200], ['rhinoceros', 696], ['rabbit', 1088], ['bat', 383], ['giraffe', 1202], ['wolf', 589],
  ['chihuahua', 567], ['rat', 310], ['weasel', 272], ['otter', 758], ['buffalo', 895], ['zebra', 1170], ['giant+panda', 874],
  ['deer', 1344], ['bobcat', 630], ['pig', 713], ['lion', 1019], ['mouse', 185], ['polar+bear', 868], ['collie', 1028],
  ['walrus', 215], ['raccoon', 512], ['cow', 1338], ['dolphin', 946],
];

/** The 10 unseen classes of AWA2's standard split (testclasses.txt). */
export const AWA2_STANDARD_TEST = ['chimpanzee', 'giant+panda', 'hippopotamus', 'humpback+whale', 'leopard', 'persian+cat', 'pig', 'raccoon', 'rat', 'seal'];

/** AWA2's image sizes, roughly in their proportions: most are 500 px on the long side, a few much larger. */
const SIZES: readonly (readonly [number, number, number])[] = [
  [500, 375, 0.55], [375, 500, 0.12], [500, 333, 0.12], [500, 400, 0.08], [640, 480, 0.06], [1024, 768, 0.05], [1500, 1000, 0.02],
];

/** Options of {@link makeAwa2Tree}. */
export interface Awa2TreeOptions {
  /** Images in all (default AWA2's 37,322), split over the classes in AWA2's proportions, at least 2 per class. */
  images?: number;
  /** Scales every image's dimensions (default 1: AWA2's); 0.25 makes a quick tree of 125×94 photos. */
  scale?: number;
  seed?: number;
  /** Called every 500 images with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** What makeAwa2Tree made. */
export interface Awa2Tree {
  root: string;
  images: number;
  classes: number;
  bytes: number;
  seconds: number;
}

/** Per-class counts for `images` in all, in AWA2's proportions (largest remainders), at least 2 each. */
export function awa2Counts(images: number): Map<string, number> {
  const total = AWA2_CLASS_COUNTS.reduce((n, [, c]) => n + c, 0);
  if (!(Number.isInteger(images) && images >= 2 * AWA2_CLASS_COUNTS.length)) throw new Error(`--images must be a whole number ≥ ${2 * AWA2_CLASS_COUNTS.length} (2 per class), got ${images}`);
  const exact = AWA2_CLASS_COUNTS.map(([name, c]) => ({ name, x: (c * images) / total }));
  const counts = new Map(exact.map((e) => [e.name, Math.max(2, Math.floor(e.x))]));
  let left = images - [...counts.values()].reduce((a, b) => a + b, 0);
  // Largest remainders get the images still to place; the floor of 2 may overshoot, taken back from the largest classes.
  for (const e of [...exact].sort((a, b) => (b.x % 1) - (a.x % 1))) {
    if (left <= 0) break;
    counts.set(e.name, counts.get(e.name)! + 1);
    left--;
  }
  const largestFirst = [...exact].sort((a, b) => b.x - a.x);
  while (left < 0) {
    for (const e of largestFirst) {
      if (left >= 0) break;
      if (counts.get(e.name)! > 2) {
        counts.set(e.name, counts.get(e.name)! - 1);
        left++;
      }
    }
  }
  return counts;
}

function pickSize(rng: Rng): [number, number] {
  let u = rng.next();
  for (const [w, h, p] of SIZES) if ((u -= p) <= 0) return [w, h];
  return [500, 375];
}

/** Film grain: a tile of Gaussian noise around mid-grey (at most 256 px, no larger than the image), laid over it in soft light. */
const grainTiles = new Map<string, Promise<Buffer>>();
function grainTile(w: number, h: number): Promise<Buffer> {
  const [tw, th] = [Math.min(256, w), Math.min(256, h)];
  const key = `${tw}x${th}`;
  if (!grainTiles.has(key)) grainTiles.set(key, sharp({ create: { width: tw, height: th, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).png().toBuffer());
  return grainTiles.get(key)!;
}

/** One photo-like JPEG: a smooth colour field (tinted per class) with grain. */
async function photo(rng: Rng, classIndex: number, w: number, h: number): Promise<Buffer> {
  const hue = (classIndex * 47) % 360;
  const base = [Math.cos((hue * Math.PI) / 180), Math.cos(((hue - 120) * Math.PI) / 180), Math.cos(((hue + 120) * Math.PI) / 180)].map((c) => 128 + 60 * c);
  const grid = Buffer.alloc(4 * 3 * 3);
  for (let i = 0; i < 12; i++) for (let c = 0; c < 3; c++) grid[i * 3 + c] = Math.max(0, Math.min(255, base[c]! + rng.uniform(-70, 70)));
  // Two pipelines: sharp would otherwise composite before resizing.
  const field = await sharp(grid, { raw: { width: 4, height: 3, channels: 3 } }).resize(w, h, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer();
  return sharp(field, { raw: { width: w, height: h, channels: 3 } }).composite([{ input: await grainTile(w, h), tile: true, blend: 'soft-light' }]).jpeg({ quality: 88 }).toBuffer();
}

/**
 * Writes (or completes) the tree at `root`. A tree is complete when its `.complete` marker names the same options;
 * then nothing is regenerated.
 */
export async function makeAwa2Tree(root: string, opts: Awa2TreeOptions = {}): Promise<Awa2Tree> {
  const images = opts.images ?? 37_322;
  const scale = opts.scale ?? 1;
  const seed = opts.seed ?? 0;
  const key = JSON.stringify({ images, scale, seed, v: 2 });
  const marker = path.join(root, '.complete');
  const t0 = performance.now();
  const counts = awa2Counts(images);
  if (!(fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === key)) {
    const names = AWA2_CLASS_COUNTS.map(([n]) => n);
    fs.mkdirSync(path.join(root, 'JPEGImages'), { recursive: true });
    fs.writeFileSync(path.join(root, 'classes.txt'), names.map((n, i) => `${String(i + 1).padStart(7)}\t${n}`).join('\n') + '\n');
    fs.writeFileSync(path.join(root, 'trainclasses.txt'), names.filter((n) => !AWA2_STANDARD_TEST.includes(n)).join('\n') + '\n');
    fs.writeFileSync(path.join(root, 'testclasses.txt'), AWA2_STANDARD_TEST.join('\n') + '\n');
    let done = 0;
    const jobs: (() => Promise<void>)[] = [];
    names.forEach((name, ci) => {
      const dir = path.join(root, 'JPEGImages', name);
      fs.mkdirSync(dir, { recursive: true });
      for (let k = 0; k < counts.get(name)!; k++) {
        const file = path.join(dir, `${name}_${String(10001 + k)}.jpg`);
        jobs.push(async () => {
          if (!fs.existsSync(file)) {
            const rng = new Rng(seed * 1_000_003 + ci * 10_007 + k);
            const [w, h] = pickSize(rng);
            const bytes = await photo(rng, ci, Math.max(8, Math.round(w * scale)), Math.max(8, Math.round(h * scale)));
            fs.writeFileSync(`${file}.tmp`, bytes);
            fs.renameSync(`${file}.tmp`, file);
          }
          if (++done % 500 === 0) opts.onProgress?.(done, images);
        });
      }
    });
    // libvips works in its own threads: a few images in flight keep both cores busy.
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }));
    fs.writeFileSync(marker, key);
  }
  let bytes = 0;
  for (const name of counts.keys()) {
    const dir = path.join(root, 'JPEGImages', name);
    for (const f of fs.readdirSync(dir)) bytes += fs.statSync(path.join(dir, f)).size;
  }
  return { root, images, classes: counts.size, bytes, seconds: (performance.now() - t0) / 1000 };
}
