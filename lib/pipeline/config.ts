/**
 * Run settings for the DeViSE pipeline, shared by the notebooks and `npm run demo`, readable from the
 * environment (lib/env.ts) so one notebook runs on `data_samples/`, on real AWA2, and in CI's smoke mode unchanged;
 * the defaults are lib/defaults.ts's table.
 *
 *   const cfg = deviseConfig({ arch: 'resnet34' });   // explicit values win over DEVISE_* variables
 *
 * Variables: DEVISE_DATA, DEVISE_ARCH, DEVISE_WEIGHTS, DEVISE_SIZE, DEVISE_BS, DEVISE_LABELS,
 * DEVISE_EPOCHS ("stage1,stage1Unfrozen,stage2a,stage2b"), DEVISE_OUT, DEVISE_SEED, DEVISE_SPLIT, DEVISE_SMOKE=1.
 */
import * as path from 'node:path';
import type { Awa2SplitName } from '../data/awa2';
import { DEFAULTS, type PhaseEpochs } from '../defaults';
import { env } from '../env';
import { ARCHS, type Arch } from '../models/registry';
import { DEFAULT_LABELS } from '../vectors/sources';
import { findPretrained, ROOT } from '../settings';

export type { PhaseEpochs } from '../defaults';

export interface DeviseConfig {
  /** An AWA2 root (JPEGImages/, classes.txt, trainclasses.txt, testclasses.txt) or train/ valid/ test/ folders. */
  data: string;
  arch: Arch;
  /** Pretrained weights (.pth, .h5 or a TF.js folder); null = random init (with a loud warning). */
  weights: string | null;
  size: number;
  bs: number;
  validPct: number;
  /** At most this many images per class (the first in path order); null = every image. */
  perClass: number | null;
  seed: number;
  /** Label embedding source: 'word2vec' (shipped, the default), 'glove', 'wordnet', 'attributes' (AWA2's 85-d), or a `.vec` file. */
  labels: string;
  /** AWA2 zero-shot split (AWA2 roots): 'standard' (the dataset's) or 'proposed' (Xian et al., unseen ∉ ImageNet-1k). */
  split: Awa2SplitName;
  /** Learning rates you choose; a phase without one trains at the LR finder's suggestion. */
  lr: { stage1?: number; stage2a?: number };
  /** Folder with AWA2's metadata (predicate matrix) for `labels: 'attributes'`; defaults to `data`. */
  awa2Meta: string;
  epochs: PhaseEpochs;
  /** LR-finder iterations (fastai: 100). */
  lrFindIterations: number;
  /** Classes drawn in the PCA animation (the original: elephant, buffalo, cow, dolphin). */
  pcaClasses: string[];
  /** Run folder for checkpoints, indices and the report. */
  out: string;
  /** Tiny CI mode: small images and single epochs. */
  smoke: boolean;
}

/** Settings from `overrides`, then DEVISE_* variables (lib/env.ts), then the defaults (lib/defaults.ts). */
export function deviseConfig(overrides: Partial<DeviseConfig> = {}): DeviseConfig {
  const smoke = overrides.smoke ?? env.smoke ?? false;
  const arch = overrides.arch ?? ((env.arch as Arch | undefined) || (DEFAULTS.arch as Arch));
  if (!(arch in ARCHS)) throw new Error(`Unknown architecture '${arch}': use ${Object.keys(ARCHS).join(' or ')}.`);
  const data = overrides.data ?? env.data ?? path.join(ROOT, 'data_samples');
  const envWeights = env.weights;
  const epochs = env.epochs;
  return {
    data,
    arch,
    weights: overrides.weights !== undefined ? overrides.weights : envWeights !== undefined ? envWeights : findPretrained(arch),
    size: overrides.size ?? env.size ?? (smoke ? DEFAULTS.smoke.data.size : DEFAULTS.data.size),
    bs: overrides.bs ?? env.bs ?? DEFAULTS.data.bs,
    validPct: overrides.validPct ?? DEFAULTS.data.validPct,
    perClass: overrides.perClass !== undefined ? overrides.perClass : env.perClass ?? null,
    seed: overrides.seed ?? env.seed ?? DEFAULTS.data.seed,
    labels: overrides.labels ?? env.labels ?? DEFAULT_LABELS,
    split: overrides.split ?? env.split ?? 'standard',
    lr: overrides.lr ?? {},
    awa2Meta: overrides.awa2Meta ?? data,
    epochs: overrides.epochs ?? (epochs ? { stage1: epochs[0], stage1Unfrozen: epochs[1], stage2a: epochs[2], stage2b: epochs[3] } : { ...(smoke ? DEFAULTS.smoke.epochs : DEFAULTS.epochs) }),
    lrFindIterations: overrides.lrFindIterations ?? (smoke ? DEFAULTS.smoke.lrFindIterations : DEFAULTS.lrFindIterations),
    pcaClasses: overrides.pcaClasses ?? [...DEFAULTS.pcaClasses],
    out: overrides.out ?? env.out ?? path.join(ROOT, 'models', `run-${arch}`),
    smoke,
  };
}
