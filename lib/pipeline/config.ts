/**
 * Run settings for the DeViSE pipeline, shared by the notebooks and `npm run demo`, readable from the
 * environment so one notebook runs on `data_samples/`, on real AWA2, and in CI's smoke mode unchanged.
 *
 *   const cfg = deviseConfig({ arch: 'resnet34' });   // explicit values win over DEVISE_* variables
 *
 * Variables: DEVISE_DATA, DEVISE_ARCH, DEVISE_WEIGHTS, DEVISE_SIZE, DEVISE_BS, DEVISE_LABELS,
 * DEVISE_EPOCHS ("stage1,stage1Unfrozen,stage2a,stage2b"), DEVISE_OUT, DEVISE_SEED, DEVISE_SMOKE=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Arch } from '../models/registry';

/** Epochs of each phase of the two-stage recipe (the original: 2a 5 epochs, 2b 3 epochs). */
export interface PhaseEpochs {
  stage1: number;
  stage1Unfrozen: number;
  stage2a: number;
  stage2b: number;
}

export interface DeviseConfig {
  /** An AWA2 root (JPEGImages/, classes.txt, trainclasses.txt, testclasses.txt) or train/ valid/ test/ folders. */
  data: string;
  arch: Arch;
  /** Pretrained weights (.pth, .h5 or a TF.js folder); null = random init (with a loud warning). */
  weights: string | null;
  size: number;
  bs: number;
  validPct: number;
  seed: number;
  /** Label embedding source: 'wordnet' (offline default), 'attributes' (AWA2's 85-d), or a `.vec` file. */
  labels: string;
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

// realpath: from a notebook, this file is loaded through the notebooks/lib symlink.
const ROOT = path.resolve(fs.realpathSync(__dirname), '..', '..');
const SHARED = path.resolve(process.env.DEVISE_SHARED ?? path.join(ROOT, '..', 'shared'));

/** Where pretrained weights are looked for, first hit wins: the downloader's folder, then ../shared (tests, CI). */
export function pretrainedCandidates(arch: Arch): string[] {
  const downloaded = path.join(ROOT, 'models', 'pretrained');
  return arch === 'squeezenet1_1'
    ? [path.join(downloaded, 'squeezenet1_1-b8a52dc0.pth'), path.join(downloaded, 'squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5'), path.join(SHARED, 'weights', 'keras-squeezenet', 'squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5')]
    : [path.join(downloaded, 'resnet34-b627a593.pth'), path.join(downloaded, 'resnet34-333f7ec4.pth')];
}

/** The first existing pretrained weight file for `arch`, or null. */
export function findPretrained(arch: Arch): string | null {
  return pretrainedCandidates(arch).find((f) => fs.existsSync(f)) ?? null;
}

function parseEpochs(spec: string): PhaseEpochs {
  const n = spec.split(',').map(Number);
  if (n.length !== 4 || n.some((x) => !Number.isInteger(x) || x < 0)) {
    throw new Error(`DEVISE_EPOCHS='${spec}' must be four whole numbers: stage1,stage1Unfrozen,stage2a,stage2b (e.g. 4,2,5,3).`);
  }
  return { stage1: n[0]!, stage1Unfrozen: n[1]!, stage2a: n[2]!, stage2b: n[3]! };
}

function intFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}='${raw}' must be a positive whole number.`);
  return n;
}

/** Settings from `overrides`, then DEVISE_* variables, then defaults (data_samples/, SqueezeNet, WordNet labels). */
export function deviseConfig(overrides: Partial<DeviseConfig> = {}, env: NodeJS.ProcessEnv = process.env): DeviseConfig {
  const smoke = overrides.smoke ?? env.DEVISE_SMOKE === '1';
  const arch = overrides.arch ?? ((env.DEVISE_ARCH as Arch | undefined) || 'squeezenet1_1');
  if (arch !== 'squeezenet1_1' && arch !== 'resnet34') throw new Error(`Unknown architecture '${arch}': use squeezenet1_1 or resnet34.`);
  const data = overrides.data ?? (env.DEVISE_DATA || path.join(ROOT, 'data_samples'));
  const envWeights = env.DEVISE_WEIGHTS === 'none' ? null : env.DEVISE_WEIGHTS || undefined;
  const defaults: PhaseEpochs = smoke ? { stage1: 1, stage1Unfrozen: 1, stage2a: 2, stage2b: 1 } : { stage1: 4, stage1Unfrozen: 1, stage2a: 5, stage2b: 3 };
  return {
    data,
    arch,
    weights: overrides.weights !== undefined ? overrides.weights : envWeights !== undefined ? envWeights : findPretrained(arch),
    size: overrides.size ?? intFrom(env, 'DEVISE_SIZE') ?? (smoke ? 64 : 224),
    bs: overrides.bs ?? intFrom(env, 'DEVISE_BS') ?? 16,
    validPct: overrides.validPct ?? 0.2,
    seed: overrides.seed ?? intFrom(env, 'DEVISE_SEED') ?? 0,
    labels: overrides.labels ?? (env.DEVISE_LABELS || 'wordnet'),
    awa2Meta: overrides.awa2Meta ?? data,
    epochs: overrides.epochs ?? (env.DEVISE_EPOCHS ? parseEpochs(env.DEVISE_EPOCHS) : defaults),
    lrFindIterations: overrides.lrFindIterations ?? (smoke ? 12 : 100),
    pcaClasses: overrides.pcaClasses ?? ['elephant', 'buffalo', 'cow', 'dolphin'],
    out: overrides.out ?? (env.DEVISE_OUT || path.join(ROOT, 'models', `run-${arch}`)),
    smoke,
  };
}
