/**
 * Data pipeline throughput: decoded + augmented + normalised images per second at --size, through the
 * real loader (shuffle, prefetch, batching into tensors), on real CIFAR-10 photos (upsampled) and on
 * generated 500×375 JPEGs like AWA2's.
 *
 *   npm run bench -- data --size 224 --json [--n 256] [--bs 32] [--epochs 2] [--step-ms 1000]
 *
 * imgPerSec is the slower of the two sets. dataWaitMsPerBatch: how long a consumer that blocks the
 * main thread for --step-ms per batch (like a wasm train step) then waits for the next batch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend, tf } from '../lib/backend/index';
import { applyTransforms, decodeImage, getTransforms, sampleParams } from '../lib/data/augment';
import type { Item } from '../lib/data/items';
import { ImageLoader } from '../lib/data/loader';
import { Rng } from '../lib/data/rng';
import { sharedDir } from '../lib/env';
import { IMAGENET } from '../lib/preprocessing';
import { numberFlag, rssMB } from './flags';

const SHARED = sharedDir();

/** n photo-like 500×375 JPEGs (smooth colour field + noise, so they compress like photos, ~30–60 kB). */
async function makeJpegs(dir: string, n: number): Promise<Item[]> {
  const rng = new Rng(1);
  const items: Item[] = [];
  for (let k = 0; k < n; k++) {
    const w = 500;
    const h = 375;
    const px = Buffer.alloc(w * h * 3);
    const a = rng.uniform(0, 6);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = 128 + 80 * Math.sin(a + x / (30 + 10 * c) + y / 47) + rng.uniform(-25, 25);
    const file = path.join(dir, `gen_${k}.jpg`);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
    items.push({ path: file, label: 'gen', split: 'train' });
  }
  return items;
}

/** Images/s through the loader over `epochs` epochs (the consumer only disposes: pure pipeline speed). */
export async function throughput(items: Item[], classes: string[], size: number, bs: number, epochs: number): Promise<number> {
  const loader = new ImageLoader(items, { classes, size, bs, preprocessing: IMAGENET, shuffle: true, dropLast: true, augment: getTransforms(), seed: 0 });
  let n = 0;
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    loader.setEpoch(e);
    for await (const b of loader) {
      n += b.items.length;
      tf.dispose([b.x, b.y]);
    }
  }
  return (n / (performance.now() - t0)) * 1000;
}

/**
 * With a consumer that blocks the main thread for `stepMs` per batch (as a wasm train step does), the
 * mean ms per batch it waits for data: near zero when prefetch keeps ahead, near the batch decode time if not.
 */
async function waitPerBatch(items: Item[], size: number, bs: number, stepMs: number): Promise<number> {
  const loader = new ImageLoader(items, { classes: ['gen'], size, bs, preprocessing: IMAGENET, shuffle: true, dropLast: true, augment: getTransforms(), seed: 0 });
  let waited = 0;
  let batches = 0;
  let t = performance.now();
  for await (const b of loader) {
    if (batches > 0) waited += performance.now() - t; // the first batch cannot have been prefetched
    batches++;
    tf.dispose([b.x, b.y]);
    const end = performance.now() + stepMs;
    while (performance.now() < end); // busy: the event loop is blocked, only libvips threads run
    t = performance.now();
  }
  return waited / Math.max(1, batches - 1);
}

/** Mean ms per image of each stage on one thread, one image at a time (where the time goes). */
async function stages(items: Item[], size: number): Promise<{ decodeMs: number; transformMs: number }> {
  const rng = new Rng(2);
  let dec = 0;
  let tr = 0;
  for (const it of items) {
    const t0 = performance.now();
    const img = await decodeImage(it.path, size);
    const t1 = performance.now();
    applyTransforms(img, size, sampleParams(rng, getTransforms()));
    tr += performance.now() - t1;
    dec += t1 - t0;
  }
  return { decodeMs: +(dec / items.length).toFixed(2), transformMs: +(tr / items.length).toFixed(2) };
}

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const size = numberFlag(argv, 'size', 224);
  const n = numberFlag(argv, 'n', 256);
  const bs = numberFlag(argv, 'bs', 32);
  const epochs = numberFlag(argv, 'epochs', 2);
  const stepMs = numberFlag(argv, 'step-ms', 1000);
  const backend = await initBackend();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-bench-data-'));
  try {
    const gen = await makeJpegs(tmp, Math.min(n, 128));
    const genItems = Array.from({ length: n }, (_, i) => gen[i % gen.length]!); // repeats beyond 128 files
    const cifarRoot = path.join(SHARED, 'data', 'cifar10-sample');
    let cifar: Item[] = [];
    if (fs.existsSync(cifarRoot)) {
      // cifar10-sample is <class>/NNNN.jpg: treat it as a train/ folder by listing it directly.
      const classes = fs.readdirSync(cifarRoot).sort();
      cifar = classes.flatMap((c) => fs.readdirSync(path.join(cifarRoot, c)).sort().slice(0, Math.ceil(n / classes.length)).map((f) => ({ path: path.join(cifarRoot, c, f), label: c, split: 'train' as const })));
    }
    const awa = await throughput(genItems, ['gen'], size, bs, epochs);
    const cif = cifar.length ? await throughput(cifar, [...new Set(cifar.map((i) => i.label))], size, bs, epochs) : null;
    const st = await stages(gen.slice(0, 32), size);
    const wait = await waitPerBatch(genItems.slice(0, bs * 6), size, bs, stepMs);
    return {
      bench: 'data',
      size,
      bs,
      epochs,
      imgPerSec: +Math.min(awa, cif ?? awa).toFixed(1),
      imgPerSec500x375: +awa.toFixed(1),
      imgPerSecCifar: cif === null ? null : +cif.toFixed(1),
      ...st,
      simulatedStepMs: stepMs,
      dataWaitMsPerBatch: +wait.toFixed(1),
      sharpThreads: sharp.concurrency(),
      cpus: os.cpus().length,
      backend: backend.backend,
      rssMB: rssMB(),
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
