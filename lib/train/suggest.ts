/**
 * fastai v2's default LR-finder suggestion, `valley`: the longest stretch over which the smoothed loss keeps
 * falling (the longest decreasing subsequence), and the rate at
 * start + ⌊len/3⌋ + ⌊len/6⌋ as fastai computes it. Robust where "minimum / 10" is not: a curve that is still
 * falling at the end of the sweep (cosine loss) has its minimum at the last, absurd, rate.
 *
 *   const lr = valleyLr(found.lrs, found.losses);
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

/**
 * The finder's suggestion, by fastai's two rules: the smoothed loss minimum / 10 when the curve has its minimum
 * inside the sweep (it turned up or diverged after it), else — a curve still falling at the end, as cosine loss
 * often is — fastai v2's `valley`. Undefined when the loss never got 5 % below where it started.
 */
export function usableSuggestion(found: { lrs: number[]; losses: number[]; suggestion: { minOver10: number } }): { value: number; method: 'min/10' | 'valley' } | undefined {
  const { losses } = found;
  const n = losses.length;
  let minI = 0;
  losses.forEach((l, i) => { if (l < losses[minI]!) minI = i; });
  if (!n || !(losses[minI]! < 0.95 * losses[0]!)) return undefined;
  const pick = minI < n - 1 - n / 10 ? { value: found.suggestion.minOver10, method: 'min/10' as const } : { value: valleyLr(found.lrs, losses).lr, method: 'valley' as const };
  return pick.value > 0 && Number.isFinite(pick.value) ? pick : undefined;
}
