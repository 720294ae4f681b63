/** Calibrated stacking, the seen–unseen curve, AUSUC, per-class top-1 and CSLS against hand-computed examples. */
import { describe, expect, it } from 'vitest';
import { ausuc, chooseGamma, csls, describeZeroShot, gzslAt, namedLanding, perClassTop1, seenUnseenCurve, zeroShot } from '../../lib/zeroshot';

// Classes 0, 1 seen; 2, 3 unseen. Flip points (best seen − best unseen): A 0.4, B 0.2, C 0.1, D 0.4.
const TEST = [
  [0.9, 0.1, 0.5, 0.2], // A, class 0
  [0.2, 0.8, 0.3, 0.6], // B, class 1
  [0.7, 0.1, 0.6, 0.3], // C, class 2
  [0.2, 0.9, 0.1, 0.5], // D, class 3
];
const ACTUAL = [0, 1, 2, 3];
// Held-out seen images: flips E 0.5, F 0.3.
const HELD_OUT = [
  [0.8, 0.2, 0.3, 0.1], // E, class 0
  [0.1, 0.7, 0.4, 0.2], // F, class 1
];
const SEEN = [0, 1];
const UNSEEN = [2, 3];

describe('calibrated stacking (Chao et al. 2016)', () => {
  it('uncalibrated: every unseen image goes to a seen class, u = 0 and H = 0', () => {
    expect(gzslAt(TEST, ACTUAL, SEEN, UNSEEN, 0)).toEqual({ s: 1, u: 0, H: 0, nSeen: 2, nUnseen: 2 });
  });

  it('γ from held-out seen images: the largest γ that keeps 90 % of their accuracy, mid-way between flips', () => {
    // Flips {0.3, 0.5}: γ in (0, 0.3) keeps both; past 0.3 F is lost (s = 0.5 < 0.9). Mid-way: 0.15.
    expect(chooseGamma(HELD_OUT, [0, 1], SEEN, UNSEEN, 0.1)).toBeCloseTo(0.15, 12);
    // Allowing a 50 % loss admits the interval (0.3, 0.5): its midpoint is 0.4.
    expect(chooseGamma(HELD_OUT, [0, 1], SEEN, UNSEEN, 0.5)).toBeCloseTo(0.4, 12);
  });

  it('calibrated: γ = 0.15 sends C to its unseen class; s = 1, u = 1/2, H = 2/3', () => {
    const r = gzslAt(TEST, ACTUAL, SEEN, UNSEEN, 0.15);
    expect(r).toEqual({ s: 1, u: 0.5, H: 2 / 3, nSeen: 2, nUnseen: 2 });
  });

  it('γ never sees unseen-class test images: choosing it on a set with an unseen image is an error', () => {
    expect(() => chooseGamma(TEST, ACTUAL, SEEN, UNSEEN)).toThrow(/not a seen class/);
  });

  it('zeroShot() chooses γ on the calibration images alone: changing the unseen test rows does not move it', () => {
    const base = zeroShot({ scores: TEST, actual: ACTUAL, seen: SEEN, unseen: UNSEEN, calibration: { scores: HELD_OUT, actual: [0, 1] } });
    const shuffled = TEST.map((r, i) => (i >= 2 ? [0, 0, 1, 0] : r));
    const other = zeroShot({ scores: shuffled, actual: ACTUAL, seen: SEEN, unseen: UNSEEN, calibration: { scores: HELD_OUT, actual: [0, 1] } });
    expect(base.gzsl.calibrated.gamma).toBeCloseTo(0.15, 12);
    expect(other.gzsl.calibrated.gamma).toBe(base.gzsl.calibrated.gamma);
    expect(base.gzsl.H).toBe(0);
    expect(base.gzsl.calibrated.H).toBeCloseTo(2 / 3, 12);
  });
});

describe('seen–unseen curve and AUSUC', () => {
  it('walks from all-seen to all-unseen through every flip; area by trapezoids = 0.625', () => {
    const curve = seenUnseenCurve(TEST, ACTUAL, SEEN, UNSEEN);
    expect(curve.map(({ s, u }) => [s, u])).toEqual([[1, 0], [1, 0.5], [0.5, 0.5], [0, 1]]);
    // (0,1)→(0.5,0.5): 0.5·(1+0.5)/2 = 0.375; (0.5,0.5)→(1,0.5): 0.25; (1,0.5)→(1,0): 0.
    expect(ausuc(curve)).toBeCloseTo(0.625, 12);
  });

  it('a perfect separation has AUSUC 1', () => {
    const perfect = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    expect(ausuc(seenUnseenCurve(perfect, ACTUAL, SEEN, UNSEEN))).toBeCloseTo(1, 12);
  });
});

describe('per-class zero-shot results', () => {
  it('top-1 of each class with its image count', () => {
    const m = perClassTop1([2, 2, 2, 3, 3], [2, 3, 2, 2, 2]);
    expect([...m]).toEqual([[2, { top1: 2 / 3, n: 3 }], [3, { top1: 0, n: 2 }]]);
  });

  it('zeroShot(): ZSL ranks unseen images among unseen labels only, per-class mean and chance', () => {
    const z = zeroShot({ scores: TEST, actual: ACTUAL, seen: SEEN, unseen: UNSEEN });
    // C: 0.6 vs 0.3 → 2 ✓; D: 0.1 vs 0.5 → 3 ✓.
    expect(z.zsl.perClassTop1).toBe(1);
    expect(z.zsl.n).toBe(2);
    expect(z.zsl.chance).toBe(0.5);
    expect(z.gzsl.chanceU).toBe(0.25);
  });

  it('where the unseen photos land: nearest of all labels, the unseen label given, and a hub named in words', () => {
    const scores = [
      [0.9, 0.1, 0.5, 0.6], // class 2: nearest 0, given 3
      [0.2, 0.1, 0.8, 0.3], // class 2: nearest 2, given 2
      [0.7, 0.1, 0.2, 0.4], // class 2: nearest 0, given 3
      [0.1, 0.9, 0.2, 0.5], // class 3: nearest 1, given 3
      [0.1, 0.2, 0.1, 0.7], // class 3: nearest 3, given 3
      [0.1, 0.8, 0.3, 0.6], // class 3: nearest 1, given 3
    ];
    const z = zeroShot({ scores, actual: [2, 2, 2, 3, 3, 3], seen: SEEN, unseen: UNSEEN });
    expect([...z.zsl.landing.get(2)!.nearestOfAll]).toEqual([[0, 2], [2, 1]]);
    expect([...z.zsl.landing.get(2)!.unseenLabel]).toEqual([[3, 2], [2, 1]]);
    const names = ['ox', 'lion', 'persian+cat', 'pig'];
    const landing = { 'persian+cat': namedLanding(z.zsl.landing.get(2)!, names), pig: namedLanding(z.zsl.landing.get(3)!, names) };
    expect(landing['persian+cat']).toEqual({ n: 3, nearestOfAll: { ox: 2 / 3, 'persian+cat': 1 / 3 }, unseenLabel: { pig: 2 / 3, 'persian+cat': 1 / 3 } });
    const lines = describeZeroShot({
      split: 'standard', seenClasses: 2, unseenClasses: 2,
      zsl: { perClassTop1: z.zsl.perClassTop1, n: z.zsl.n, chance: z.zsl.chance, perClass: {}, landing },
      gzsl: z.gzsl,
      csls: { k: 2, zslPerClassTop1: 0.5, u: 0, s: 0, H: 0, calibrated: { u: 0, s: 0, H: 0, gamma: 0 }, calibratedH: 0, ausuc: 0 },
    });
    expect(lines).toContain('Where the unseen photos go (nearest of all labels → the unseen label given): persian cat (3): nearest of all labels ox 66.7%, persian cat 33.3% → given pig 66.7%, persian cat 33.3%; pig (3): nearest of all labels lion 66.7%, pig 33.3% → given pig 100.0%.');
    // 'pig' takes 5 of the 6 photos: over 1.5× its fair share of 50 %.
    expect(lines.find((l) => l.startsWith("'pig' is given to 83.3% of all unseen photos (a fair share is 50.0%)"))).toContain('CSLS');
  });
});

describe('CSLS hubness reduction', () => {
  it('subtracts each label’s mean similarity to its k nearest images (2·cos − r)', () => {
    // Label 1 is a hub: near both images. k = 2: r = [0.5, 0.85].
    const s = csls([[0.9, 0.8], [0.1, 0.9]], 2);
    expect(Array.from(s[0]!)).toEqual([2 * 0.9 - 0.5, 2 * 0.8 - 0.85].map((v) => expect.closeTo(v, 12)));
    // Image 0 was nearest to label 0 already (0.9 > 0.8); after CSLS the margin grows: 1.3 vs 0.75.
    expect(s[0]![0]! - s[0]![1]!).toBeCloseTo(0.55, 12);
  });
});
