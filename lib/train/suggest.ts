/**
 * fastai v2's default LR-finder suggestion, `valley`: the longest stretch over which the smoothed loss keeps
 * falling (the longest decreasing subsequence), and the rate at
 * start + ⌊len/3⌋ + ⌊len/6⌋ as fastai computes it. Robust where "minimum / 10" is not: a curve that is still
 * falling at the end of the sweep (cosine loss) has its minimum at the last, absurd, rate.
 *
 *   const lr = valleyLr(found.lrs, found.losses);
 *   const s = usableSuggestion(await learn.lrFind());   // {value, method} by the rules below, or undefined
 */

/** fastai `valley(lrs, losses)`: the suggested rate and its index. */
export function valleyLr(lrs: number[], losses: number[]): { lr: number; index: number } {
  const n = losses.length;
  if (!n || lrs.length !== n) return { lr: NaN, index: -1 };
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i]! < losses[j]! && lds[i]! < lds[j]! + 1) lds[i] = lds[j]! + 1;
      if (lds[maxEnd]! < lds[i]!) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd]!;
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const index = Math.min(n - 1, Math.max(0, maxStart + Math.floor(sections) + Math.floor(sections / 2)));
  return { lr: lrs[index]!, index };
}

/** The part of an LR-finder curve fastai v2 suggests from (`lr_find`: `lrs[num_it//10:-5]`, cut at the first NaN). */
export function trimmedCurve(found: { lrs: number[]; losses: number[]; numIt?: number }): { lrs: number[]; losses: number[]; from: number } {
  const finite = found.losses.findIndex((l) => !Number.isFinite(l));
  const n = finite < 0 ? found.losses.length : finite;
  // The first tenth of the sweep: a freshly initialised head's loss is noise there (the random ResNet34's
  // minimum, hence its 1.7e-8, sat in it). The last 5: the divergence the finder stopped at.
  const from = Math.floor((found.numIt ?? found.losses.length) / 10);
  const to = Math.min(n, found.losses.length - 5);
  return { lrs: found.lrs.slice(from, Math.max(from, to)), losses: found.losses.slice(from, Math.max(from, to)), from };
}

/**
 * The finder's suggestion, by fastai's rules on fastai v2's trimmed curve (`trimmedCurve`: the first tenth and the
 * last 5 points ignored): the smoothed loss minimum / 10 when the minimum lies inside (the curve turned up or
 * diverged after it), else — still falling at the end, as cosine loss often is — fastai v2's `valley`. Never below
 * the sweep's lowest rate: a minimum within the sweep's first decade gives the valley instead. Undefined when the
 * trimmed curve never got 5 % below where it starts, or no rule gives a rate inside the sweep.
 */
export function usableSuggestion(found: { lrs: number[]; losses: number[]; numIt?: number }): { value: number; method: 'min/10' | 'valley' } | undefined {
  const { lrs, losses } = trimmedCurve(found);
  const n = losses.length;
  if (n < 2) return undefined;
  let minI = 0;
  losses.forEach((l, i) => { if (l < losses[minI]!) minI = i; });
  if (!(losses[minI]! < 0.95 * losses[0]!)) return undefined;
  const floor = found.lrs[0]!;
  const usable = (v: number) => Number.isFinite(v) && v >= floor;
  if (minI < n - 1 - n / 10 && usable(lrs[minI]! / 10)) return { value: lrs[minI]! / 10, method: 'min/10' };
  const valley = valleyLr(lrs, losses).lr;
  return usable(valley) ? { value: valley, method: 'valley' } : undefined;
}
