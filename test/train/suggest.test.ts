/** fastai v2's `valley` LR suggestion on hand-computed curves, and when the pipeline trusts it. */
import { describe, expect, it } from 'vitest';
import { usableSuggestion, valleyLr } from '../../lib/train/suggest';

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

describe('usableSuggestion', () => {
  const suggestion = { steepest: NaN, minOver10: 0.42 };
  it('a minimum inside the sweep (the curve turned up): minimum / 10', () => {
    expect(usableSuggestion({ lrs, losses: [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.6, 0.7, 0.8, 0.9], suggestion })).toEqual({ value: 0.42, method: 'min/10' });
  });

  it('still falling at the end of the sweep: the valley', () => {
    expect(usableSuggestion({ lrs, losses: lrs.map((_, i) => 10 - i), suggestion })).toEqual({ value: lrs[3], method: 'valley' });
  });

  it('no suggestion when the curve never fell 5 % (the recipe default is used and said)', () => {
    expect(usableSuggestion({ lrs, losses: lrs.map((_, i) => 1 + i * 0.01), suggestion })).toBeUndefined();
    expect(usableSuggestion({ lrs, losses: lrs.map((_, i) => 1 - i * 0.001), suggestion })).toBeUndefined();
  });
});
