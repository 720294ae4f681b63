import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import {
  createModel, freeze, freezeTo, loadModel, modelSummary, saveModel, swapHead, unfreeze, bodyOutputLayer, type CnnModel,
} from '../../lib/models/index';
import { CAFFE, IMAGENET } from '../../lib/preprocessing';
import { tempDir } from '../helpers';

const models: CnnModel[] = [];
const track = (m: CnnModel) => (models.push(m), m);
beforeAll(async () => {
  await initBackend();
});
afterAll(() => models.forEach((m) => m.model.dispose()));

const bits = (m: CnnModel, names: string[]) => names.flatMap((n) => m.model.getLayer(n).getWeights().map((w) => Buffer.from(w.dataSync().buffer).toString('base64')));

describe('architectures', () => {
  it('have torchvision\'s parameter counts with the 1000-class top', async () => {
    const sq = track(await createModel('squeezenet1_1', { head: 'imagenet' }));
    const rn = track(await createModel('resnet34', { head: 'imagenet' }));
    expect(modelSummary(sq).params).toBe(1_235_496);
    expect(modelSummary(rn).params).toBe(21_797_672);
    expect(sq.model.outputs[0]!.shape).toEqual([null, 1000]);
    expect(sq.model.inputs[0]!.shape).toEqual([null, 224, 224, 3]);
    // fastai cut: squeezenet keeps `features` (13×13×512), resnet drops avgpool+fc (7×7×512).
    expect(sq.model.getLayer(bodyOutputLayer(sq)).outputShape).toEqual([null, 13, 13, 512]);
    expect(rn.model.getLayer(bodyOutputLayer(rn)).outputShape).toEqual([null, 7, 7, 512]);
  });

  it('the fastai head: concat pool [max, avg] → BN → Dropout(0.25) → Dense(512) → ReLU → BN → Dropout(0.5) → Dense(n)', async () => {
    const m = track(await createModel('squeezenet1_1', { head: 'embedding', inputSize: 64 }));
    const head = m.layerGroups[m.layerGroups.length - 1]!.map((n) => m.model.getLayer(n));
    expect(head.map((l) => l.getClassName())).toEqual([
      'GlobalMaxPooling2D', 'GlobalAveragePooling2D', 'Concatenate', 'TorchBatchNorm', 'SeededDropout', 'Dense', 'ReLU', 'TorchBatchNorm', 'SeededDropout', 'Dense',
    ]);
    expect(head.filter((l) => l.getClassName() === 'SeededDropout').map((l) => (l.getConfig() as { rate: number }).rate)).toEqual([0.25, 0.5]);
    expect(m.model.outputs[0]!.shape).toEqual([null, 300]);
    expect(m.head).toEqual({ kind: 'embedding', units: 300 });
    // The concat's first half is the max pool, the second the average pool.
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 1);
    const probe = tf.model({ inputs: m.model.inputs, outputs: [m.model.getLayer('head_concat').output, m.model.getLayer(bodyOutputLayer(m)).output] as tf.SymbolicTensor[] });
    const [cat, fmap] = probe.predict(x) as tf.Tensor[];
    const want = tf.concat([tf.max(fmap!, [1, 2]), tf.mean(fmap!, [1, 2])], 1);
    expect(tf.max(tf.abs(tf.sub(cat!, want))).dataSync()[0]).toBeLessThan(1e-5);
    const c = track(await createModel('resnet34', { classes: 40, inputSize: 64 }));
    expect(c.head).toEqual({ kind: 'classifier', units: 40 });
    expect(c.model.outputs[0]!.shape).toEqual([null, 40]);
  });

  it('layer groups follow fastai splits', async () => {
    const rn = track(await createModel('resnet34', { head: 'embedding', inputSize: 64 }));
    expect(rn.layerGroups.length).toBe(3);
    expect(rn.layerGroups[0]![0]).toBe('conv1_pad');
    expect(rn.layerGroups[0]!.some((n) => n.startsWith('layer2_'))).toBe(true);
    expect(rn.layerGroups[1]![0]).toMatch(/^layer3_0_/);
    expect(rn.layerGroups[1]!.every((n) => /^layer[34]_/.test(n))).toBe(true);
    expect(rn.layerGroups[2]![0]).toBe('head_maxpool');
    const sq2 = track(await createModel('squeezenet1_1', { head: 'embedding', inputSize: 64 }));
    // Body: 8 fire modules × 7 layers + conv1, its ReLU and 3 max-pools (the 3×3 expands pad themselves: 'same').
    expect(sq2.layerGroups.map((g) => g.length)).toEqual([61, 10]);
    const sq3 = track(await createModel('squeezenet1_1', { head: 'embedding', inputSize: 64, groups: 3 }));
    expect(sq3.layerGroups[1]![0]).toMatch(/^features_5/);
    expect(sq3.layerGroups[0]!.every((n) => /^features_[0-4](_|$)/.test(n))).toBe(true);
    // Every layer except the input is in exactly one group.
    expect(sq3.layerGroups.flat().sort()).toEqual(sq3.model.layers.slice(1).map((l) => l.name).sort());
  });

  it('same seed → same weights; another seed → different', async () => {
    const a = track(await createModel('squeezenet1_1', { head: 'embedding', inputSize: 64, seed: 7 }));
    const b = track(await createModel('squeezenet1_1', { head: 'embedding', inputSize: 64, seed: 7 }));
    const c = track(await createModel('squeezenet1_1', { head: 'embedding', inputSize: 64, seed: 8 }));
    const names = a.model.layers.map((l) => l.name);
    expect(bits(a, names)).toEqual(bits(b, names));
    expect(bits(a, names)).not.toEqual(bits(c, names));
  });
});

describe('freezing (fastai, train_bn=True)', () => {
  it('freeze trains the head and every BatchNorm; freezeTo(1) adds group 1; unfreeze trains all', async () => {
    const m = track(await createModel('resnet34', { head: 'embedding', inputSize: 64 }));
    const all = modelSummary(m);
    expect(all.trainable).toBe(all.params);
    freeze(m);
    const frozen = modelSummary(m);
    const bnParams = m.model.layers.filter((l) => l.getClassName() === 'TorchBatchNorm' && !l.name.startsWith('head')).reduce((s, l) => s + 2 * (l.weights[0]!.shape[0] as number), 0);
    expect(frozen.trainable).toBe(frozen.groups[2]!.params + bnParams);
    const trainableLayers = new Set(m.model.trainableWeights.map((w) => w.originalName.split('/')[0]));
    expect([...trainableLayers].filter((n) => !n!.startsWith('head')).every((n) => /bn|downsample_1/.test(n!))).toBe(true);
    freezeTo(m, 1);
    const half = modelSummary(m);
    expect(half.groups[1]!.trainable).toBe(half.groups[1]!.params);
    expect(half.groups[0]!.trainable).toBeLessThan(half.groups[0]!.params);
    unfreeze(m);
    expect(modelSummary(m).trainable).toBe(all.params);
  });
});

describe('head swap and checkpoints', () => {
  it('swapHead keeps the body bit-identical (and the hidden head layers with keepHidden)', async () => {
    const m = track(await createModel('squeezenet1_1', { classes: 40, inputSize: 64, seed: 1 }));
    const body = m.layerGroups.slice(0, -1).flat();
    const e = track(swapHead(m, { kind: 'embedding', units: 300, seed: 5 }));
    expect(e.head).toEqual({ kind: 'embedding', units: 300 });
    expect(e.model.outputs[0]!.shape).toEqual([null, 300]);
    expect(bits(e, body)).toEqual(bits(m, body));
    expect(bits(e, ['head_fc1'])).not.toEqual(bits(m, ['head_fc1']));
    const k = track(swapHead(m, { kind: 'embedding', units: 300, keepHidden: true }));
    expect(bits(k, [...body, 'head_bn1', 'head_fc1', 'head_bn2'])).toEqual(bits(m, [...body, 'head_bn1', 'head_fc1', 'head_bn2']));
    // The original is untouched and independent.
    m.model.getLayer('features_0').setWeights(m.model.getLayer('features_0').getWeights().map((w) => tf.zerosLike(w)));
    expect(bits(k, ['features_0'])).not.toEqual(bits(m, ['features_0']));
  });

  it('saveModel/loadModel round-trip config, weights, head, groups, preprocessing; stage-1 → stage-2 in one call', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const m = track(await createModel('squeezenet1_1', { classes: 8, inputSize: 64, seed: 2, groups: 3, preprocessing: CAFFE }));
      await saveModel(m, `${dir}/stage1`);
      const back = track(await loadModel(`${dir}/stage1`));
      expect({ ...back, model: null }).toEqual({ ...m, model: null });
      const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3);
      expect(Array.from((back.model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.model.predict(x) as tf.Tensor).dataSync()));
      // Stage 2: same body, an embedding head, the stage-1 preprocessing.
      const s2 = track(await createModel('squeezenet1_1', { head: 'embedding', dim: 300, inputSize: 64, weights: `${dir}/stage1` }));
      expect(s2.preprocessing).toEqual(CAFFE);
      const body = m.layerGroups.slice(0, -1).flat();
      expect(bits(s2, body)).toEqual(bits(m, body));
      // Same head kind and size: the head comes back too (resume).
      const resumed = track(await createModel('squeezenet1_1', { classes: 8, inputSize: 64, weights: `${dir}/stage1` }));
      expect(bits(resumed, ['head_fc2'])).toEqual(bits(m, ['head_fc2']));
      await expect(createModel('resnet34', { weights: `${dir}/stage1` })).rejects.toThrow(/holds a squeezenet1_1 model, not resnet34/);
      await expect(createModel('squeezenet1_1', { weights: `${dir}/stage1`, preprocessing: IMAGENET })).rejects.toThrow(/Preprocessing mismatch/);
    } finally {
      cleanup();
    }
  });

  it('leaves no tensors behind across create/swap/dispose', async () => {
    const before = tf.memory().numTensors;
    const m = await createModel('squeezenet1_1', { classes: 3, inputSize: 64 });
    tf.engine().startScope();
    const s = swapHead(m, { kind: 'embedding', units: 10 });
    const body = bits(m, ['features_0', 'features_12_expand3x3']);
    m.model.dispose();
    // The new model's weights outlive the old model (shared data is reference-counted).
    expect(bits(s, ['features_0', 'features_12_expand3x3'])).toEqual(body);
    expect((s.model.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor).shape).toEqual([1, 10]);
    tf.engine().endScope();
    s.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
