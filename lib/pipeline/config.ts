/**
 * Run settings for the DeViSE pipeline, shared by the notebooks and `npm run demo`, readable from the
 * environment so one notebook runs on `data_samples/`, on real AWA2, and in CI's smoke mode unchanged.
 *
 *   const cfg = deviseConfig({ arch: 'resnet34' });   // explicit values win over DEVISE_* variables
 *
 * Variables: DEVISE_DATA, DEVISE_ARCH, DEVISE_WEIGHTS, DEVISE_SIZE, DEVISE_BS, DEVISE_LABELS,
 * DEVISE_EPOCHS ("stage1,stage1Unfrozen,stage2a,stage2b"), DEVISE_OUT, DEVISE_SEED, DEVISE_SPLIT, DEVISE_SMOKE=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Awa2SplitName } from '../data/awa2';
import { ARCHS, type Arch } from '../models/registry';
import { DEFAULT_PHASES } from '../train/recipe';
import { DEFAULT_LABELS } from '../vectors/sources';
import { findPretrained, ROOT } from '../settings';

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

const SMOKE_EPOCHS: PhaseEpochs = { stage1: 1, stage1Unfrozen: 1, stage2a: 2, stage2b: 1 };

function parseEpochs(spec: string): PhaseEpochs {
  const n = spec.split(',').map(Number);
  if (n.length !== 4 || n.some((x) => !Number.isInteger(x) || x < 0)) {
    throw new Error(`DEVISE_EPOCHS='${spec}' must be four whole numbers: stage1,stage1Unfrozen,stage2a,stage2b (e.g. 4,2,5,3).`);
  }
  return { stage1: n[0]!, stage1Unfrozen: n[1]!, stage2a: n[2]!, stage2b: n[3]! };
}

function intFrom(env: NodeJS.ProcessEnv, name: string, min = 1): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}='${raw}' must be a whole number ≥ ${min}.`);
  return n;
}

function splitFrom(raw: string | undefined): Awa2SplitName | undefined {
  if (!raw) return undefined;
  if (raw !== 'standard' && raw !== 'proposed') throw new Error(`DEVISE_SPLIT='${raw}' must be 'standard' or 'proposed'.`);
  return raw;
}

/**
 * A path from a DEVISE_* variable: `~/` is the home folder; a relative path is taken from the directory the user
 * started the process in (the shell's PWD, which a notebook kernel inherits although it runs in notebooks/), or
 * from the repo root when it exists there and not in the first.
 */
export function envPath(raw: string, env: NodeJS.ProcessEnv = process.env): string {
  if (raw.startsWith('~/')) return path.join(env.HOME ?? '~', raw.slice(2));
  if (path.isAbsolute(raw)) return raw;
  const fromStart = path.resolve(env.PWD && path.isAbsolute(env.PWD) ? env.PWD : process.cwd(), raw);
  const fromRoot = path.resolve(ROOT, raw);
  return fs.existsSync(fromStart) || !fs.existsSync(fromRoot) ? fromStart : fromRoot;
}

/** DEVISE_LABELS names a source ('word2vec', 'wordnet', ...) or a file: only a file is a path. */
const labelsFrom = (raw: string, env: NodeJS.ProcessEnv): string => (/[/\\]|\.vec$|\.txt$/.test(raw) ? envPath(raw, env) : raw);

/** Settings from `overrides`, then DEVISE_* variables, then defaults (data_samples/, SqueezeNet, shipped word2vec labels). */
export function deviseConfig(overrides: Partial<DeviseConfig> = {}, env: NodeJS.ProcessEnv = process.env): DeviseConfig {
  const smoke = overrides.smoke ?? env.DEVISE_SMOKE === '1';
  const arch = overrides.arch ?? ((env.DEVISE_ARCH as Arch | undefined) || 'squeezenet1_1');
  if (!(arch in ARCHS)) throw new Error(`Unknown architecture '${arch}': use ${Object.keys(ARCHS).join(' or ')}.`);
  const data = overrides.data ?? (env.DEVISE_DATA ? envPath(env.DEVISE_DATA, env) : path.join(ROOT, 'data_samples'));
  const envWeights = env.DEVISE_WEIGHTS === 'none' ? null : env.DEVISE_WEIGHTS ? envPath(env.DEVISE_WEIGHTS, env) : undefined;
  const p = DEFAULT_PHASES;
  const defaults: PhaseEpochs = smoke ? SMOKE_EPOCHS : { stage1: p.stage1.epochs, stage1Unfrozen: p.stage1Unfrozen.epochs, stage2a: p.stage2a.epochs, stage2b: p.stage2b.epochs };
  return {
    data,
    arch,
    weights: overrides.weights !== undefined ? overrides.weights : envWeights !== undefined ? envWeights : findPretrained(arch),
    size: overrides.size ?? intFrom(env, 'DEVISE_SIZE') ?? (smoke ? 64 : 224),
    bs: overrides.bs ?? intFrom(env, 'DEVISE_BS') ?? 16,
    validPct: overrides.validPct ?? 0.2,
    seed: overrides.seed ?? intFrom(env, 'DEVISE_SEED', 0) ?? 0,
    labels: overrides.labels ?? (env.DEVISE_LABELS ? labelsFrom(env.DEVISE_LABELS, env) : DEFAULT_LABELS),
    split: overrides.split ?? splitFrom(env.DEVISE_SPLIT) ?? 'standard',
    lr: overrides.lr ?? {},
    awa2Meta: overrides.awa2Meta ?? data,
    epochs: overrides.epochs ?? (env.DEVISE_EPOCHS ? parseEpochs(env.DEVISE_EPOCHS) : defaults),
    lrFindIterations: overrides.lrFindIterations ?? (smoke ? 12 : 100),
    pcaClasses: overrides.pcaClasses ?? ['elephant', 'buffalo', 'cow', 'dolphin'],
    out: overrides.out ?? (env.DEVISE_OUT ? envPath(env.DEVISE_OUT, env) : path.join(ROOT, 'models', `run-${arch}`)),
    smoke,
  };
}
