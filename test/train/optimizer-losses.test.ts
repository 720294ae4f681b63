/**
 * AdamW and the losses against PyTorch (Debian python3 + torch 1.13): fastai v1's true weight decay
 * (`p.mul_(1 - lr*wd)` then torch Adam with β1 = the scheduled momentum), cross-entropy, cosine loss;
 * the hinge rank loss against a hand-computed example and finite differences.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { cosineLoss, crossEntropy, hingeRankLoss } from '../../lib/losses';
import { AdamW } from '../../lib/train/optimizer';
import { rng } from './helpers';

function torch(script: string, input: unknown): any {
  const r = spawnSync('/usr/bin/python3', ['-c', `import json, sys, torch\nI = json.loads(sys.stdin.read())\n${script}`], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const randn = (n: number, seed: number): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()));
};

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('AdamW equals fastai v1 OptimWrapper(Adam, true_wd, bn_wd) in torch', () => {
  it('5 steps with changing lr/momentum and two layer groups', () => {
    const w0 = [randn(6, 1), randn(3, 2)];
    const grads = Array.from({ length: 5 }, (_, s) => [randn(6, 10 + s), randn(3, 20 + s)]);
    const hypers = [0.95, 0.93, 0.9, 0.87, 0.85].map((mom, s) => ({ lrs: [1e-3 * (s + 1), 1e-2 * (s + 1)], mom }));
    const ref = torch(
      `
ps = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in I["w0"]]
opt = torch.optim.Adam([{"params": [ps[0]]}, {"params": [ps[1]]}], betas=(0.9, 0.99), eps=1e-5)
for g, h in zip(I["grads"], I["hypers"]):
    for k, pg in enumerate(opt.param_groups):
        pg["lr"] = h["lrs"][k]; pg["betas"] = (h["mom"], 0.99)
        for p in pg["params"]: p.data.mul_(1 - I["wd"] * pg["lr"])   # fastai true_wd
    for p, gg in zip(ps, g): p.grad = torch.tensor(gg, dtype=torch.float64)
    opt.step()
print(json.dumps([p.detach().tolist() for p in ps]))`,
      { w0, grads, hypers, wd: 0.01 },
    ) as number[][];
    const vars = w0.map((w, i) => ({ name: `w${i}`, variable: tf.variable(tf.tensor1d(w)) }));
    const opt = new AdamW({ wd: 0.01 });
    grads.forEach((g, s) => {
      const gt = g.map((x) => tf.tensor1d(x));
      opt.step(vars, gt, [0, 1], hypers[s]!);
      gt.forEach((t) => t.dispose());
    });
    vars.forEach((v, i) => {
      const got = v.variable.dataSync();
      ref[i]!.forEach((x, j) => expect(got[j]).toBeCloseTo(x, 5));
    });
    // state round trip
    const st = opt.getState();
    const opt2 = new AdamW();
    opt2.setState(st);
    expect(opt2.getState()).toEqual(st);
    opt.reset();
    opt2.reset();
    vars.forEach((v) => v.variable.dispose());
  });
});

describe('losses', () => {
  const logits = randn(4 * 5, 3);
  const labels = [0, 3, 4, 1];
  const pred = randn(4 * 6, 4);
  const vecs = randn(5 * 6, 5);

  it('crossEntropy and cosineLoss equal torch', () => {
    const ref = torch(
      `
import torch.nn.functional as F
lo = torch.tensor(I["logits"]).view(4, 5); y = torch.tensor(I["labels"])
p = torch.tensor(I["pred"]).view(4, 6); t = torch.tensor(I["vecs"]).view(5, 6)[y]
print(json.dumps([F.cross_entropy(lo, y).item(), (1 - F.cosine_similarity(p, t)).mean().item()]))`,
      { logits, labels, pred, vecs },
    ) as [number, number];
    const y = tf.tensor1d(labels, 'int32');
    expect(crossEntropy(tf.tensor2d(logits, [4, 5]), y).dataSync()[0]).toBeCloseTo(ref[0], 5);
    const vm = tf.tensor2d(vecs, [5, 6]);
    expect(cosineLoss(vm)(tf.tensor2d(pred, [4, 6]), y).dataSync()[0]).toBeCloseTo(ref[1], 5);
    expect(() => cosineLoss(vm)(tf.tensor2d(pred.slice(0, 20), [4, 5]), y)).toThrow(/6-d/);
  });

  it('hingeRankLoss: hand-computed example and finite-difference gradient', () => {
    // unit label vectors e0, e1, e2 in 3-d; ŷ = (0.5, 0.2, -0.1), label 0, margin 0.1:
    // j=1: max(0, 0.1 − 0.5 + 0.2) = 0; j=2: max(0, 0.1 − 0.5 − 0.1) = 0 → 0.
    // ŷ = (0.1, 0.3, 0), label 0: j=1: 0.1 − 0.1 + 0.3 = 0.3; j=2: 0.1 − 0.1 + 0 = 0 → 0.3. Mean = 0.15.
    const t = [[2, 0, 0], [0, 3, 0], [0, 0, 1]]; // scaled to unit norm by the loss
    const loss = hingeRankLoss(t, 0.1);
    const y = tf.tensor1d([0, 0], 'int32');
    const p = tf.tensor2d([[0.5, 0.2, -0.1], [0.1, 0.3, 0]]);
    expect(loss(p, y).dataSync()[0]).toBeCloseTo(0.15, 6);
    // finite differences on a random point
    const lossR = hingeRankLoss(tf.tensor2d(vecs, [5, 6]), 0.5);
    const yr = tf.tensor1d(labels, 'int32');
    const x0 = tf.tensor2d(pred, [4, 6]);
    const g = tf.grad((x: tf.Tensor) => lossR(x, yr))(x0).dataSync();
    const eps = 1e-2;
    for (const k of [0, 7, 13, 22]) {
      const plus = pred.slice();
      const minus = pred.slice();
      plus[k]! += eps;
      minus[k]! -= eps;
      const fd = (lossR(tf.tensor2d(plus, [4, 6]), yr).dataSync()[0]! - lossR(tf.tensor2d(minus, [4, 6]), yr).dataSync()[0]!) / (2 * eps);
      expect(g[k]).toBeCloseTo(fd, 3);
    }
  });
});
