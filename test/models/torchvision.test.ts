import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { bodyOutputLayer, createModel, loadModel, saveModel, type CnnModel } from '../../lib/models/index';
import { openWeights } from '../../lib/models/pretrained';
import { ARCHS } from '../../lib/models/registry';
import { CAFFE, IMAGENET } from '../../lib/preprocessing';
import { readTorchStateDict } from '../../lib/weights/torch';
import { runTs, tempDir } from '../helpers';
import { relErr, runOracle, type Oracle } from './oracle';

let o: Oracle;
beforeAll(async () => {
  await initBackend();
  o = runOracle();
});
afterAll(() => o?.cleanup());

function features(m: CnnModel, x: tf.Tensor): tf.Tensor {
  const body = tf.model({ inputs: m.model.inputs, outputs: m.model.getLayer(bodyOutputLayer(m)).output as tf.SymbolicTensor });
  return body.predict(x) as tf.Tensor;
}

/** Asserts max|ours − torch| / max|torch| < 1e-4 and prints the measured value (the figure the docs quote). */
function expectClose(ours: tf.Tensor, theirs: tf.Tensor, what: string): void {
  expect(ours.shape).toEqual(theirs.shape);
  const err = relErr(ours, theirs);
  console.log(`max rel err vs torchvision, ${what}: ${err.toExponential(1)}`);
  expect(err).toBeLessThan(1e-4);
}

describe('torchvision equivalence (eval mode, max rel err < 1e-4)', () => {
  for (const format of ['', '-legacy']) {
    it(`squeezenet1_1 from the ${format ? 'legacy' : 'zip'} .pth: logits and body features at 70 px (ceil-mode pools) and 224 px`, async () => {
      for (const size of [70, 224]) {
        const m = await createModel('squeezenet1_1', { head: 'imagenet', weights: o.file(`squeezenet1_1${format}.pth`), inputSize: size });
        expect(m.preprocessing).toEqual(IMAGENET);
        expect(m.head).toEqual({ kind: 'imagenet', units: 1000 });
        const x = o.tensor(`sq${size}_x`);
        expectClose(m.model.predict(x) as tf.Tensor, o.tensor(`sq${size}_logits`), `squeezenet1_1 ${size} px logits (${format ? 'legacy' : 'zip'})`);
        expectClose(features(m, x), o.tensor(`sq${size}_features`), `squeezenet1_1 ${size} px body (${format ? 'legacy' : 'zip'})`);
        m.model.dispose();
      }
    });

    it(`resnet34 from the ${format ? 'legacy' : 'zip'} .pth: logits and body features at 80 px, logits at 67 px`, async () => {
      const m = await createModel('resnet34', { head: 'imagenet', weights: o.file(`resnet34${format}.pth`), inputSize: 80 });
      const x = o.tensor('rn_x');
      expectClose(m.model.predict(x) as tf.Tensor, o.tensor('rn_logits'), `resnet34 80 px logits (${format ? 'legacy' : 'zip'})`);
      expectClose(features(m, x), o.tensor('rn_features'), `resnet34 80 px body (${format ? 'legacy' : 'zip'})`);
      m.model.dispose();
      const odd = await createModel('resnet34', { head: 'imagenet', weights: o.file(`resnet34${format}.pth`), inputSize: 67 });
      expectClose(odd.model.predict(o.tensor('rn67_x')) as tf.Tensor, o.tensor('rn67_logits'), 'resnet34 67 px logits');
      odd.model.dispose();
    });
  }

  it('a train-mode forward updates BatchNorm running statistics as torch does (momentum 0.1, unbiased variance)', async () => {
    const m = await createModel('resnet34', { head: 'imagenet', weights: o.file('resnet34.pth'), inputSize: 80 });
    const y = m.model.apply(o.tensor('rn_x'), { training: true }) as tf.Tensor;
    expectClose(y, o.tensor('rn_train_logits'), 'resnet34 train-mode logits');
    const after = readTorchStateDict(o.file('resnet34-after-train.pth'));
    let checked = 0;
    let worst = 0;
    for (const layer of m.model.layers.filter((l) => l.getClassName() === 'TorchBatchNorm')) {
      const key = layer.name.replace(/_/g, '.');
      const [, , mean, variance] = layer.getWeights();
      for (const [ours, stat] of [[mean!, 'running_mean'], [variance!, 'running_var']] as const) {
        const t = after.get(`${key}.${stat}`)!;
        const err = relErr(ours, tf.tensor(t.data, t.shape));
        expect(err).toBeLessThan(1e-4);
        worst = Math.max(worst, err);
        checked++;
      }
    }
    console.log(`max rel err vs torchvision, BatchNorm running mean/var after one train batch (worst of ${checked}): ${worst.toExponential(1)}`);
    expect(checked).toBe(2 * 36);
    m.model.dispose();
  });

  it('the converter CLI writes a TF.js folder that loadModel() reads back with torchvision\'s numbers', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = runTs('utils/weights.ts', ['convert', o.file('squeezenet1_1-legacy.pth'), '--arch', 'squeezenet1_1', '--size', '70', '--out', `${dir}/sq`]);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      const m = await loadModel(`${dir}/sq`);
      expect(m.head).toEqual({ kind: 'imagenet', units: 1000 });
      expect(m.preprocessing).toEqual(IMAGENET);
      expectClose(m.model.predict(o.tensor('sq70_x')) as tf.Tensor, o.tensor('sq70_logits'), 'squeezenet1_1 70 px logits after `weights convert`');
      m.model.dispose();

      // resnet34 through saveModel/loadModel in-process, and as `weights` of createModel.
      const r34 = await createModel('resnet34', { head: 'imagenet', weights: o.file('resnet34.pth'), inputSize: 80 });
      await saveModel(r34, `${dir}/rn`);
      r34.model.dispose();
      const again = await createModel('resnet34', { head: 'imagenet', weights: `${dir}/rn`, inputSize: 80 });
      expectClose(again.model.predict(o.tensor('rn_x')) as tf.Tensor, o.tensor('rn_logits'), 'resnet34 80 px logits after saveModel/loadModel');
      again.model.dispose();
    } finally {
      cleanup();
    }
  });
});

describe('bad weight files fail clearly and load nothing', () => {
  it('a truncated .pth (zip and legacy) names the file and says it is truncated', async () => {
    for (const name of ['squeezenet1_1.pth', 'squeezenet1_1-legacy.pth']) {
      const bytes = fs.readFileSync(o.file(name));
      const cut = o.file(`cut-${name}`);
      fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await expect(createModel('squeezenet1_1', { head: 'imagenet', weights: cut })).rejects.toThrow(/cut-squeezenet1_1.*(truncated|corrupt)/);
    }
  });

  it('a state dict of the wrong architecture names missing and unexpected tensors', async () => {
    await expect(createModel('resnet34', { head: 'imagenet', weights: o.file('squeezenet1_1.pth') })).rejects.toThrow(
      /does not fit resnet34[\s\S]*missing tensor 'conv1.weight' \(expected shape \[64, 3, 7, 7\]\)[\s\S]*unexpected tensor 'features.0.weight'/,
    );
  });

  it('a tensor with the wrong shape is named with both shapes, and the model keeps its weights', async () => {
    const m = await createModel('squeezenet1_1', { head: 'imagenet', inputSize: 70, seed: 3 });
    const before = m.model.getWeights().map((w) => Array.from(w.dataSync()));
    const src = await openWeights(o.file('squeezenet1_1-badshape.pth'), ARCHS.squeezenet1_1);
    expect(() => src.assign(m.model, { includeTop: true })).toThrow(/tensor 'features.3.squeeze.weight' has shape \[8, 64, 1, 1\], expected \[16, 64, 1, 1\]/);
    const after = m.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(after).toEqual(before);
    m.model.dispose();
  });

  it('a pickled nn.Module is refused with how to save a state dict', () => {
    expect(() => readTorchStateDict(o.file('module.pth'))).toThrow(/torch.nn.modules.linear.Linear.*state_dict\(\)/);
  });

  it('asking for a preprocessing the weights were not trained with is an error', async () => {
    await expect(createModel('squeezenet1_1', { weights: o.file('squeezenet1_1.pth'), preprocessing: CAFFE })).rejects.toThrow(/Preprocessing mismatch.*expects imagenet.*caffe/);
  });
});
