import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { camOverlay, classActivationMap } from '../../lib/plots/cam';
import { SHARED } from '../helpers';

/** conv 'block' → conv 'last_conv' → global average pool → dense 'logits' → softmax: CAM's textbook case. */
function gapModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [8, 8, 3] });
  const a = tf.layers.conv2d({ name: 'block', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }).apply(input);
  const b = tf.layers.conv2d({ name: 'last_conv', filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2), biasInitializer: tf.initializers.constant({ value: 0.05 }) }).apply(a);
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(b);
  const logits = tf.layers.dense({ name: 'logits', units: 3, kernelInitializer: init(3) }).apply(gap);
  const probs = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probs, name: 'gap_model' });
}

/** The last conv block's activation, computed from the weights directly (independent of the model graph). */
function lastConvActs(model: tf.LayersModel, x: tf.Tensor3D): tf.Tensor3D {
  const [k1, b1] = model.getLayer('block').getWeights();
  const [k2, b2] = model.getLayer('last_conv').getWeights();
  const a = tf.conv2d(x, k1 as tf.Tensor4D, 1, 'same').add(b1).relu() as tf.Tensor3D;
  return tf.conv2d(a, k2 as tf.Tensor4D, 1, 'same').add(b2).relu() as tf.Tensor3D;
}

const close = (a: number[][], b: number[][], digits = 5) => a.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(b[i][j], digits)));

describe('class-activation maps', () => {
  beforeAll(async () => { await initBackend({ backend: 'cpu' }); });

  it('mean channel activation of the named layer (fastai lesson 6), and the model outputs', () => {
    const model = gapModel();
    const x = tf.randomUniform([8, 8, 3], -1, 1, 'float32', 7) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const cam = classActivationMap(model, 'last_conv', x);
    expect(tf.memory().numTensors).toBe(before);
    const expected = tf.tidy(() => lastConvActs(model, x).mean(2).arraySync() as number[][]);
    expect(cam.heat).toHaveLength(8);
    close(cam.heat, expected);
    const probs = tf.tidy(() => Array.from((model.predict(x.expandDims(0)) as tf.Tensor).dataSync()));
    cam.outputs.forEach((p, i) => expect(p).toBeCloseTo(probs[i], 6));
    expect(cam.classIndex).toBe(probs.indexOf(Math.max(...probs)));
    x.dispose();
  });

  it('Grad-CAM of a GAP + linear head equals CAM from the dense weights (Zhou et al.), on the logits not the softmax', () => {
    const model = gapModel();
    const x = tf.randomUniform([1, 8, 8, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const c of [0, 1, 2]) {
      const cam = classActivationMap(model, 'last_conv', x, { method: 'gradcam', classIndex: c });
      expect(cam.classIndex).toBe(c);
      // ∂logit_c/∂A_k = W[k,c]/(h·w) everywhere, so Grad-CAM = ReLU(Σ_k W[k,c]/64 · A_k).
      const expected = tf.tidy(() => {
        const w = model.getLayer('logits').getWeights()[0].slice([0, c], [5, 1]).reshape([5]);
        return lastConvActs(model, x.squeeze([0]) as tf.Tensor3D).mul(w.div(64)).sum(2).relu().arraySync() as number[][];
      });
      close(cam.heat, expected, 6);
      expect(cam.heat.flat().some((v) => v > 0)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('Grad-CAM of an embedding model toward a word vector: gradient of the cosine similarity, by hand', () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const convLayer = tf.layers.conv2d({ name: 'last_conv', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }), biasInitializer: tf.initializers.constant({ value: 0.1 }) });
    const conv = convLayer.apply(input) as tf.SymbolicTensor;
    const emb = tf.layers.dense({ name: 'emb', units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }).apply(tf.layers.globalAveragePooling2d({}).apply(conv)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: emb });
    const x = tf.randomUniform([6, 6, 3], -1, 1, 'float32', 13) as tf.Tensor3D;
    const t = [0.3, -1.2, 0.8];
    const cam = classActivationMap(model, 'last_conv', x, { method: 'gradcam', target: t });
    expect(cam.classIndex).toBeUndefined();
    // By hand: y = mean(A)·W + b; ∂cos/∂y = t/(|y||t|) − (y·t)·y/(|y|³|t|); α_k = Σ_m W[k,m]·∂cos/∂y_m / 36.
    const A = tf.tidy(() => tf.conv2d(x, convLayer.getWeights()[0] as tf.Tensor4D, 1, 'same').add(convLayer.getWeights()[1]).relu().arraySync() as number[][][]);
    const [W, b] = model.getLayer('emb').getWeights().map((w) => w.arraySync()) as [number[][], number[]];
    const g = [0, 1, 2, 3].map((k) => A.flat().reduce((s, px) => s + px[k], 0) / 36);
    const y = b.map((bm, m) => bm + g.reduce((s, gk, k) => s + gk * W[k][m], 0));
    const ny = Math.hypot(...y);
    const nt = Math.hypot(...t);
    const yt = y.reduce((s, v, m) => s + v * t[m], 0);
    expect(cam.similarity).toBeCloseTo(yt / (ny * nt), 5);
    cam.outputs.forEach((v, m) => expect(v).toBeCloseTo(y[m], 5));
    const dy = t.map((tm, m) => tm / (ny * nt) - (yt * y[m]) / (ny ** 3 * nt));
    const alpha = W.map((row) => row.reduce((s, w, m) => s + w * dy[m], 0) / 36);
    const expected = A.map((row) => row.map((px) => Math.max(0, px.reduce((s, a, k) => s + a * alpha[k], 0))));
    close(cam.heat, expected, 6);
    expect(cam.heat.flat().filter((v) => v > 0).length).toBeGreaterThan(3);
    expect(() => classActivationMap(model, 'last_conv', x, { method: 'gradcam', target: [1, 2] })).toThrow(/target has 2 values, the model outputs 3/);
    x.dispose();
  });

  it('says clearly when Grad-CAM cannot split the model or the layer does not exist', () => {
    const input = tf.input({ shape: [6, 6, 2] });
    const a = tf.layers.conv2d({ name: 'a', filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ name: 'b', filters: 3, kernelSize: 3, padding: 'same' }).apply(a) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'skip' }).apply([a, b]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(sum)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out, name: 'skip_model' });
    const x = tf.zeros([6, 6, 2]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    expect(() => classActivationMap(model, 'b', x, { method: 'gradcam' })).toThrow(/does not depend on layer "b" alone/);
    expect(tf.memory().numTensors).toBe(before);
    expect(classActivationMap(model, 'b', x).heat).toHaveLength(6); // the mean map needs no split
    expect(() => classActivationMap(model, 'nope', x)).toThrow(/no layer "nope" in model "skip_model"/);
    expect(() => classActivationMap(model, 'b', x, { classIndex: 5 })).toThrow(/classIndex 5 is outside 0..1/);
    x.dispose();
  });

  it('overlays the heatmap on a real photo: same size, hot centre turns red, cold corners blue', async () => {
    const dir = path.join(SHARED, 'data', 'cifar10-sample', 'cat');
    const photo = fs.readFileSync(path.join(dir, fs.readdirSync(dir).sort()[0]));
    const heat = [[0, 0, 0], [0, 5, 0], [0, 0, 0]];
    const png = await camOverlay(photo, heat, { opacity: 0.6 });
    const over = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([over.info.width, over.info.height, over.info.channels]).toEqual([32, 32, 3]);
    const orig = await sharp(photo).removeAlpha().raw().toBuffer();
    const px = (buf: Buffer, x: number, y: number) => Array.from(buf.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3));
    const [r0, , b0] = px(orig, 16, 16);
    const [r1, , b1] = px(over.data, 16, 16);
    expect(r1 - b1).toBeGreaterThan(r0 - b0 + 50);
    const [cr, , cb] = px(over.data, 0, 0);
    const [or, , ob] = px(orig, 0, 0);
    expect(cb - cr).toBeGreaterThan(ob - or + 30);
    await expect(camOverlay(photo, [])).rejects.toThrow(/heatmap is empty/);
  });
});
