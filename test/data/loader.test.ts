import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { decodeImage, applyTransforms, CENTER } from '../../lib/data/augment';
import { type Batch, ImageLoader, imageDataBunch } from '../../lib/data/loader';
import { CAFFE, IMAGENET, normalizeInto } from '../../lib/preprocessing';
import { tempDir } from '../helpers';

const { dir, cleanup } = tempDir('devise-loader-');
afterAll(cleanup);
const CLASSES = ['fox', 'grizzly+bear', 'zebra'];
const root = path.join(dir, 'data');
const bad: string[] = [];

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  for (const [ci, c] of CLASSES.entries()) {
    for (const split of ['train', 'valid']) {
      const d = path.join(root, split, c);
      fs.mkdirSync(d, { recursive: true });
      for (let i = 0; i < (split === 'train' ? 7 : 2); i++) {
        const colour = { r: 40 + 80 * ci, g: 20 * i, b: 200 - 60 * ci };
        await sharp({ create: { width: 50 + 7 * i, height: 40, channels: 3, background: colour } }).jpeg().toFile(path.join(d, `${c}_${i}.jpg`));
      }
    }
  }
  const d = path.join(root, 'train', 'fox');
  const good = fs.readFileSync(path.join(d, 'fox_0.jpg'));
  fs.writeFileSync(path.join(d, 'zero.jpg'), '');
  fs.writeFileSync(path.join(d, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  fs.writeFileSync(path.join(d, 'text.jpg'), 'this is not a JPEG\n');
  fs.writeFileSync(path.join(d, 'vanishes.jpg'), good); // removed after listing: unreadable by the time it is loaded
  bad.push(...['zero', 'truncated', 'text', 'vanishes'].map((n) => path.join(d, `${n}.jpg`)));
});

async function collect(loader: AsyncIterable<Batch>): Promise<{ paths: string[]; batches: { shape: number[]; dtype: string; y: number[] }[]; first?: Float32Array }> {
  const paths: string[] = [];
  const batches: { shape: number[]; dtype: string; y: number[] }[] = [];
  let first: Float32Array | undefined;
  for await (const b of loader) {
    paths.push(...b.items.map((it) => it.path));
    batches.push({ shape: b.x.shape, dtype: b.x.dtype, y: Array.from(b.y.dataSync()) });
    first ??= b.x.dataSync() as Float32Array;
    tf.dispose([b.x, b.y]);
  }
  return { paths, batches, first };
}

describe('imageDataBunch / ImageLoader', () => {
  it('skips bad files (zero-byte, truncated, text named .jpg, vanished), reports each once, deletes nothing', async () => {
    const reported: string[] = [];
    const data = await imageDataBunch({ root, size: 32, bs: 4, preprocessing: IMAGENET, onBadFile: (f) => reported.push(f) });
    fs.rmSync(bad[3]!);
    expect(data.classes).toEqual(CLASSES);
    // The probe settled the list: zero-byte, text and truncated files are out before any batch; the file that
    // vanished after probing is skipped by the loader.
    expect(data.train.items).toHaveLength(7 * 3 + 1);
    expect(data.unreadable?.map((u) => u.path).sort()).toEqual(bad.slice(0, 3).sort());
    expect(data.train.length).toBe(5); // 22 items, bs 4, last partial batch dropped
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 3; epoch++) {
      data.train.setEpoch(epoch);
      const { paths, batches } = await collect(data.train);
      expect(new Set(paths).size).toBe(paths.length);
      expect(paths.some((p) => bad.includes(p))).toBe(false);
      expect(paths.length).toBeGreaterThanOrEqual(20 - 4);
      for (const b of batches) {
        expect(b.shape.slice(1)).toEqual([32, 32, 3]);
        expect(b.dtype).toBe('float32');
        expect(b.y.every((y) => y >= 0 && y < 3)).toBe(true);
      }
      const valid = await collect(data.valid);
      expect(valid.paths).toHaveLength(6);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(reported.sort()).toEqual(bad.slice().sort()); // every bad file exactly once over three epochs
    for (const f of bad.slice(0, 3)) expect(fs.existsSync(f)).toBe(true);
  });

  it('same seed → same order and pixels; another epoch reshuffles; valid is the normalised center crop', async () => {
    const mk = () => imageDataBunch({ root: path.join(dir, 'clean'), size: 24, bs: 5, seed: 3, preprocessing: CAFFE });
    fs.cpSync(path.join(root, 'valid'), path.join(dir, 'clean', 'train'), { recursive: true });
    fs.cpSync(path.join(root, 'valid'), path.join(dir, 'clean', 'valid'), { recursive: true });
    const [a, b] = await Promise.all([mk(), mk()]);
    const ra = await collect(a.train);
    const rb = await collect(b.train);
    expect(ra.paths).toEqual(rb.paths);
    expect(Buffer.from(ra.first!.buffer).equals(Buffer.from(rb.first!.buffer))).toBe(true);
    a.train.setEpoch(1);
    expect((await collect(a.train)).paths).not.toEqual(ra.paths);

    const v = await collect(a.valid);
    const firstPath = a.valid.items[0]!.path;
    expect(v.paths[0]).toBe(firstPath);
    const want = new Float32Array(24 * 24 * 3);
    normalizeInto(applyTransforms(await decodeImage(firstPath, 24), 24, CENTER), want, 0, CAFFE);
    expect(Array.from(v.first!.subarray(0, want.length))).toEqual(Array.from(want));
  });

  it('normalizeInto: hand-computed pixels for both weight conventions (torchvision RGB mean/std, Caffe BGR minus mean)', () => {
    const out = new Float32Array(7);
    normalizeInto(Uint8Array.of(255, 0, 128, 10, 20, 30), out, 1, IMAGENET);
    [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225, (10 / 255 - 0.485) / 0.229].forEach((v, i) => expect(out[1 + i]).toBeCloseTo(v, 5));
    expect(out[0]).toBe(0); // before the offset: untouched
    normalizeInto(Uint8Array.of(255, 0, 128), out, 0, CAFFE);
    [128 - 103.939, 0 - 116.779, 255 - 123.68].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 4));
  });

  it('a requested class with no images is a clear error naming the folder', async () => {
    await expect(imageDataBunch({ root, preprocessing: IMAGENET, classes: ['fox', 'moose'] })).rejects.toThrow(/'moose' \(.*train\/moose\).*missing or empty/);
  });

  it('prefetches exactly `prefetch` batches ahead of the one being consumed (bounded memory)', async () => {
    for (const prefetch of [1, 2]) {
      const data = await imageDataBunch({ root, size: 16, bs: 2, preprocessing: IMAGENET, prefetch });
      const valid = data.valid as ImageLoader; // 6 good files: 3 batches, none skipped
      let k = 0;
      for await (const b of valid) {
        expect(valid.batchesStarted, `prefetch ${prefetch}, batch ${k}`).toBe(Math.min(valid.length, k + 1 + prefetch));
        tf.dispose([b.x, b.y]);
        k++;
      }
      expect(k).toBe(3);
    }
  });

  it('an abandoned loop leaves no tensors behind', async () => {
    const data = await imageDataBunch({ root, size: 16, bs: 2, preprocessing: IMAGENET, onBadFile: () => {} });
    const before = tf.memory().numTensors;
    for await (const b of data.train) {
      tf.dispose([b.x, b.y]);
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
