/**
 * Schedules against fastai 1.0.33's own code (Stepper, annealing_cos/exp, OneCycleScheduler, lr_range,
 * even_mults), transcribed into Python and run by Debian's python3 as the oracle.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { annealingExp, exponential, lrRange, oneCycle, slice } from '../../lib/train/schedule';

const FASTAI = `
import json, sys, numpy as np
def annealing_cos(start, end, pct):
    cos_out = np.cos(np.pi * pct) + 1
    return end + (start-end)/2 * cos_out
def annealing_exp(start, end, pct): return start * (end/start) ** pct
class Stepper():
    def __init__(self, vals, n_iter, func):
        self.start,self.end = vals
        self.n_iter = max(1,n_iter)
        self.func = func
        self.n = 0
    def step(self):
        self.n += 1
        return self.func(self.start, self.end, self.n/self.n_iter)
    @property
    def is_done(self): return self.n >= self.n_iter
def one_cycle(n, lr_max, moms=(0.95,0.85), div_factor=25., pct_start=0.3):
    a1 = int(n * pct_start); a2 = n-a1
    phases = ((a1, annealing_cos), (a2, annealing_cos))
    low_lr = lr_max/div_factor
    lr_scheds = [Stepper(s, ni, f) for s,(ni,f) in zip(((low_lr, lr_max), (lr_max, low_lr/1e4)), phases)]
    mom_scheds = [Stepper(s, ni, f) for s,(ni,f) in zip((moms, (moms[1], moms[0])), phases)]
    lr, mom = lr_scheds[0].start, mom_scheds[0].start
    idx_s = 0; out = []
    for it in range(n):
        out.append((float(lr), float(mom)))   # the batch runs with these
        if idx_s >= len(lr_scheds): break
        lr = lr_scheds[idx_s].step(); mom = mom_scheds[idx_s].step()
        if lr_scheds[idx_s].is_done: idx_s += 1
    return out
def even_mults(start, stop, n):
    mult = stop/start; step = mult**(1/(n-1))
    return np.array([start*(step**i) for i in range(n)])
def lr_range(lr, n):
    if not isinstance(lr, slice): return lr
    if lr.start: res = even_mults(lr.start, lr.stop, n)
    else: res = [lr.stop/10]*(n-1) + [lr.stop]
    return [float(v) for v in res]
cfg = json.loads(sys.argv[1])
print(json.dumps({
  "cycles": [one_cycle(c["n"], c["lr"], tuple(c["moms"]), c["div"], c["pct"]) for c in cfg["cycles"]],
  "ranges": [lr_range(slice(r[0], r[1]) if r[0] else slice(r[1]), r[2]) for r in cfg["ranges"]],
  "finder": [1e-7] + [float(s.step()) for s in [Stepper((1e-7, 10.), 100, annealing_exp)] for _ in range(99)],
}))
`;

function oracle(cfg: unknown): { cycles: [number, number][][]; ranges: number[][]; finder: number[] } {
  const r = spawnSync('/usr/bin/python3', ['-c', FASTAI, JSON.stringify(cfg)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('schedules equal fastai 1.0.33', () => {
  const cycles = [
    { n: 100, lr: 1e-3, moms: [0.95, 0.85], div: 25, pct: 0.3 },
    { n: 37, lr: 0.01, moms: [0.9, 0.8], div: 10, pct: 0.25 },
    { n: 3, lr: 0.1, moms: [0.95, 0.85], div: 25, pct: 0.3 }, // phase 1 rounds to 0 iterations
    { n: 50, lr: 2e-2, moms: [0.95, 0.85], div: 25, pct: 0.5 },
  ];
  const ranges: [number | null, number, number][] = [[1e-6, 1e-4, 3], [1e-5, 1e-3, 2], [null, 1e-3, 3], [null, 3e-3, 2]];
  const ref = oracle({ cycles, ranges });

  it('fitOneCycle LR and momentum at every iteration', () => {
    cycles.forEach((c, k) => {
      const s = oneCycle(c.n, [c.lr], { divFactor: c.div, pctStart: c.pct, moms: c.moms as [number, number] });
      ref.cycles[k]!.forEach(([lr, mom], i) => {
        const h = s.at(i);
        expect(h.lrs[0]).toBeCloseTo(lr, 12);
        expect(h.mom).toBeCloseTo(mom, 12);
      });
    });
  });

  it('known points: start lr = max/25, peak at 30%, end = max/(25·1e4)', () => {
    const s = oneCycle(100, [1e-3, 1e-2]);
    expect(s.at(0).lrs[0]).toBeCloseTo(1e-3 / 25, 15);
    expect(s.at(0).lrs[1]).toBeCloseTo(1e-2 / 25, 15);
    expect(s.at(0).mom).toBeCloseTo(0.95, 15);
    expect(s.at(30).lrs[1]).toBeCloseTo(1e-2, 15);
    expect(s.at(30).mom).toBeCloseTo(0.85, 15);
    expect(s.at(100).lrs[1]).toBeCloseTo(1e-2 / 25 / 1e4, 15);
  });

  it('slice expansion (lr_range)', () => {
    ranges.forEach(([a, b, n], k) => {
      const got = lrRange(a ? slice(a, b) : slice(b), n);
      got.forEach((v, i) => expect(v).toBeCloseTo(ref.ranges[k]![i]!, 15));
    });
    expect(lrRange(slice(1e-6, 1e-4), 3).map((v) => +v.toPrecision(6))).toEqual([1e-6, 1e-5, 1e-4]);
    expect(lrRange(slice(1e-3), 3)).toEqual([1e-4, 1e-4, 1e-3]);
    expect(lrRange(0.01, 2)).toEqual([0.01, 0.01]);
    expect(() => lrRange([1, 2], 3)).toThrow(/3 layer groups/);
  });

  it('lrFind schedule is exponential from startLr to endLr', () => {
    const s = exponential(100, [1e-7], [10]);
    ref.finder.forEach((lr, i) => expect(s.at(i).lrs[0]! / lr).toBeCloseTo(1, 12));
    expect(annealingExp(1e-7, 10, 1)).toBeCloseTo(10, 10);
  });
});
