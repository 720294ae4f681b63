/**
 * The LR finder's suggestion: fastai v2's `valley` on hand-computed curves, and `usableSuggestion` (fastai v2's
 * trimmed curve, min/10 or valley, never below the sweep) on curves recorded by the committed notebooks
 * (fixtures/lr-curves.json says which cell each comes from).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../../lib/train/callbacks';
import { trimmedCurve, usableSuggestion, valleyLr } from '../../lib/train/suggest';

const lrs = Array.from({ length: 10 }, (_, i) => 10 ** (i - 7));

describe('valleyLr (fastai v2 SuggestionMethod.Valley)', () => {
  it('a curve falling to the end: the valley is the whole sweep; index -1 + ⌊10/3⌋ + ⌊10/6⌋ = 3', () => {
    const losses = lrs.map((_, i) => 10 - i);
    expect(valleyLr(lrs, losses)).toEqual({ lr: lrs[3], index: 3 });
  });

  it('a U-shaped curve: the valley ends at the minimum (index 5); -1 + ⌊6/3⌋ + ⌊1⌋ = 2', () => {
    const losses = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.6, 0.7, 0.8, 0.9];
    expect(valleyLr(lrs, losses).index).toBe(2);
  });

  it('a bump before the descent: the longest decreasing run skips it', () => {
    // 0.95, 1.0 (bump), then 0.9 … 0.4: the decreasing run 0.95, 0.9, …, 0.4 ends at index 8 with length 8,
    // so start = 8 − 8 = 0 and index = 0 + ⌊8/3⌋ + ⌊8/6⌋ = 3.
    const losses = [0.95, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 2.0];
    expect(valleyLr(lrs, losses).index).toBe(3);
  });
});

interface Curve { numIt: number; lrs: number[]; losses: number[]; oldSuggestion: number }
const CURVES = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/lr-curves.json'), 'utf8')) as Record<'resnet34Random' | 'squeezenetStage1' | 'squeezenetStage2Cosine', Curve>;

/** A 100-step sweep from 1e-7 to 10, as lrFind draws it, with the given loss per step. */
function sweep(loss: (i: number, lr: number) => number, numIt = 100): { lrs: number[]; losses: number[]; numIt: number } {
  const lrs = Array.from({ length: numIt }, (_, i) => 1e-7 * (10 / 1e-7) ** (i / (numIt - 1)));
  return { lrs, losses: lrs.map((lr, i) => loss(i, lr)), numIt };
}

describe('trimmedCurve (fastai v2 lr_find: lrs[num_it//10:-5], cut at the first NaN)', () => {
  it('drops ⌊numIt/10⌋ points at the start (of the iterations asked for, also when the finder stopped early) and 5 at the end', () => {
    const c = CURVES.resnet34Random; // stopped at 90 of 100 iterations
    const t = trimmedCurve(c);
    expect(c.lrs).toHaveLength(90);
    expect(t.from).toBe(10);
    expect(t.lrs).toEqual(c.lrs.slice(10, 85));
    expect(t.losses).toEqual(c.losses.slice(10, 85));
  });

  it('stops before the first non-finite loss', () => {
    const c = sweep((i) => (i === 50 ? NaN : 1));
    expect(trimmedCurve(c).losses).toHaveLength(40);
  });
});

describe('usableSuggestion on recorded curves', () => {
  it('random-weight ResNet34 (the notebook trained at 1.7e-8): no longer the start of the sweep; the trimmed curve never fell 5 %, so none (the default 3e-3, said)', () => {
    const c = CURVES.resnet34Random;
    expect(c.oldSuggestion).toBeCloseTo(1.74e-8, 9); // what the untrimmed min/10 gave: below the sweep itself
    const t = trimmedCurve(c);
    const fall = 1 - Math.min(...t.losses) / t.losses[0]!;
    expect(fall).toBeGreaterThan(0);
    expect(fall).toBeLessThan(0.05);
    expect(usableSuggestion(c)).toBeUndefined();
  });

  it('SqueezeNet stage 1 (minimum near 0.12, then diverged): min/10 of the minimum, as before', () => {
    const c = CURVES.squeezenetStage1;
    const t = trimmedCurve(c);
    const minI = t.losses.indexOf(Math.min(...t.losses));
    expect(usableSuggestion(c)).toEqual({ value: t.lrs[minI]! / 10, method: 'min/10' });
    expect(usableSuggestion(c)!.value).toBeCloseTo(c.oldSuggestion, 12);
  });

  it('SqueezeNet stage 2a, cosine loss still falling at the end: fastai v2 valley of the trimmed curve', () => {
    const c = CURVES.squeezenetStage2Cosine;
    const t = trimmedCurve(c);
    expect(t.losses.indexOf(Math.min(...t.losses))).toBe(t.losses.length - 1);
    const s = usableSuggestion(c)!;
    expect(s).toEqual({ value: valleyLr(t.lrs, t.losses).lr, method: 'valley' });
    expect(s.value).toBeGreaterThan(1e-3);
    expect(s.value).toBeLessThan(1e-1);
  });
});

describe('usableSuggestion rules', () => {
  it('a minimum inside the first decade of the sweep (min/10 would be below the sweep): the valley instead', () => {
    // Steps are ×10^(8/99); the trimmed curve starts at step 10. Falling 3 % a step to step 12 (lr 9.3e-7), then
    // rising: min/10 = 9.3e-8 lies below the sweep's 1e-7, so the valley of the trimmed curve is used.
    const c = sweep((i) => (i <= 12 ? 1 - 0.03 * i : 0.64 + 0.001 * (i - 12)));
    const t = trimmedCurve(c);
    expect(t.lrs[t.losses.indexOf(Math.min(...t.losses))]! / 10).toBeLessThan(c.lrs[0]!);
    expect(usableSuggestion(c)).toEqual({ value: valleyLr(t.lrs, t.losses).lr, method: 'valley' });
    expect(usableSuggestion(c)!.value).toBeGreaterThanOrEqual(c.lrs[0]!);
  });

  it('no suggestion when the trimmed curve never fell 5 %', () => {
    expect(usableSuggestion(sweep((i) => 1 + i * 0.01))).toBeUndefined();
    expect(usableSuggestion(sweep((i) => 1 - i * 0.0004))).toBeUndefined();
  });
});

describe('Recorder: the plot marks the rate that is trained', () => {
  it('lrFigure() marks suggestedLr(), which is usableSuggestion', () => {
    const r = new Recorder();
    const c = CURVES.squeezenetStage2Cosine;
    r.lrFind = { ...c, rawLosses: c.losses, suggestion: { steepest: NaN, minOver10: NaN } };
    const lr = r.suggestedLr();
    expect(lr).toBe(usableSuggestion(c)!.value);
    const marker = r.lrFigure().data.find((t) => (t as { name?: string }).name === 'suggestion') as unknown as { x: number[] };
    expect(marker.x).toEqual([lr]);
  });
});
