import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { bodyOutputLayer, createModel, type CnnModel } from '../../lib/models/index';
import { CAFFE, IMAGENET, normalizeInto } from '../../lib/preprocessing';
import { readHdf5Weights } from '../../lib/weights/hdf5';
import { SHARED, tempDir } from '../helpers';

const H5 = path.join(SHARED, 'weights/keras-squeezenet/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5');
const CIFAR = path.join(SHARED, 'data/cifar10-sample');
const haveShared = fs.existsSync(H5) && fs.existsSync(CIFAR);
if (!haveShared) console.warn(`Skipping Keras SqueezeNet tests: ${H5} or ${CIFAR} is missing (set DEVISE_SHARED).`);

describe.skipIf(!haveShared)('Keras SqueezeNet 1.1 notop weights (real file)', () => {
  let m: CnnModel;
  beforeAll(async () => {
    await initBackend();
    m = await createModel('squeezenet1_1', { head: 'none', weights: H5, inputSize: 128 });
  });
  afterAll(() => m?.model.dispose());

  it('carries caffe preprocessing and refuses ImageNet normalisation', async () => {
    expect(m.preprocessing).toEqual(CAFFE);
    await expect(createModel('squeezenet1_1', { weights: H5, preprocessing: IMAGENET })).rejects.toThrow(/Preprocessing mismatch: squeezenet1_1 weights .* expects caffe/);
  });

  it('loads exactly the stored tensors: each is a byte range of the file, and the checksum over all matches', async () => {
    const raw = fs.readFileSync(H5);
    const stored = await readHdf5Weights(H5);
    const all = createHash('sha256');
    let n = 0;
    for (const layer of m.model.layers.filter((l) => l.weights.length > 0)) {
      for (const w of layer.getWeights()) {
        const bytes = Buffer.from(w.dataSync().buffer); // float32 little-endian, as HDF5 '<f4' stores it
        expect(raw.indexOf(bytes)).toBeGreaterThan(0);
        all.update(bytes);
        n++;
      }
    }
    expect(n).toBe(50); // conv1 + 8 fire modules × 3 convs, kernel and bias each
    expect([...stored.values()].reduce((s, ws) => s + ws.length, 0)).toBe(50);
    // sha256 over all 50 tensors in layer order (conv1, fire2/squeeze1x1, ...), kernels then biases.
    expect(all.digest('hex')).toBe(EXPECTED_SHA256);
  });

  it('gives class-informative features on real CIFAR-10 photos (nearest centroid ≫ 10% chance)', async () => {
    const classes = fs.readdirSync(CIFAR).sort();
    const perClass = 16;
    const size = m.inputSize;
    const feats: number[][] = [];
    const labels: number[] = [];
    for (const [c, cls] of classes.entries()) {
      const files = fs.readdirSync(path.join(CIFAR, cls)).sort().slice(0, perClass);
      const x = new Float32Array(files.length * size * size * 3);
      for (const [i, f] of files.entries()) {
        const rgb = await sharp(path.join(CIFAR, cls, f)).removeAlpha().resize(size, size, { kernel: 'cubic' }).raw().toBuffer();
        normalizeInto(rgb, x, i * size * size * 3, m.preprocessing);
      }
      const body = tf.model({ inputs: m.model.inputs, outputs: m.model.getLayer(bodyOutputLayer(m)).output as tf.SymbolicTensor });
      const f = tf.tidy(() => {
        const y = tf.mean(body.predict(tf.tensor4d(x, [files.length, size, size, 3])) as tf.Tensor, [1, 2]);
        return y.div(tf.norm(y, 2, 1, true)) as tf.Tensor2D;
      });
      feats.push(...(f.arraySync() as number[][]));
      f.dispose();
      labels.push(...files.map(() => c));
    }
    const flat = feats.flat();
    expect(flat.every(Number.isFinite)).toBe(true);
    expect(Math.max(...flat) - Math.min(...flat)).toBeGreaterThan(0.1);
    // Centroids from the first half of each class, accuracy on the second half.
    const half = perClass / 2;
    const isTrain = (i: number) => i % perClass < half;
    const centroids = classes.map((_, c) => {
      const rows = feats.filter((_, i) => labels[i] === c && isTrain(i));
      return rows[0]!.map((_, d) => rows.reduce((s, r) => s + r[d]!, 0) / rows.length);
    });
    let right = 0;
    let total = 0;
    feats.forEach((f, i) => {
      if (isTrain(i)) return;
      const dist = centroids.map((c) => c.reduce((s, v, d) => s + (v - f[d]!) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === labels[i]) right++;
      total++;
    });
    const accuracy = right / total;
    console.log(`nearest-centroid accuracy on ${total} CIFAR-10 photos (10 classes, ${half}/class centroids): ${accuracy.toFixed(3)}`);
    expect(accuracy).toBeGreaterThan(0.3);
  });

  it('a truncated .h5 is a clear error', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const cut = path.join(dir, 'cut.h5');
      const raw = fs.readFileSync(H5);
      fs.writeFileSync(cut, raw.subarray(0, Math.floor(raw.length * 0.5)));
      await expect(createModel('squeezenet1_1', { weights: cut })).rejects.toThrow(/cut\.h5.*(truncated|corrupt)/);
    } finally {
      cleanup();
    }
  });

  it('wrong architecture: the Keras SqueezeNet file does not fit resnet34', async () => {
    await expect(createModel('resnet34', { weights: H5 })).rejects.toThrow(/no Keras weight mapping for resnet34/);
  });
});

// Measured once on the ../shared file (sha256 17154246…) with this loader; the byte-range check above is the independent one.
const EXPECTED_SHA256 = '4b4fd7b05f7e3aa708573b8c4c373d5f4c3655089ad202aaf52b762a5f4703c9';
