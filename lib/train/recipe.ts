/**
 * The original notebooks' two-stage DeViSE recipe, built from the same calls a notebook makes on a
 * VisionLearner: stage 1 trains a classifier (frozen body, then unfrozen with discriminative LRs); stage 2
 * swaps the classifier for an embedding head and regresses the class word vectors (2a head only, 2b everything).
 *
 *   const r = twoStageRecipe({ model, data, labelVectors: emb, path: 'runs/sq' });
 *   await r.stage1();            // freeze → fitOneCycle(4, lr) → unfreeze → fitOneCycle(2, slice(1e-6, 1e-4))
 *   await r.stage2a();           // learner.toEmbedding(labelVectors), freeze, 5 epochs
 *   await r.stage2b();           // unfreeze, 3 epochs
 *   r.learner.recorder.fits      // every phase's losses and epoch table
 *
 * Each phase writes its own checkpoint under `<path>/models/`: stage1-frozen, stage1-unfrozen, stage2a,
 * stage2b (PHASE_NAMES). With `resume: true` a finished phase is loaded, never re-entered, and a stopped one
 * continues where it stopped (same schedule position and data order).
 */
import * as fs from 'node:fs';
import type { CnnModel } from '../models/index';
import { DEFAULTS } from '../defaults';
import { crossEntropy } from '../losses';
import type { FitResult } from './learner';
import { accuracy } from './metrics';
import type { ProgressMode } from './progress';
import { type LrSpec, slice } from './schedule';
import type { Callback, Position, RunPlan } from './types';
import { type ClassVectors, type EmbeddingOptions, type VisionData, VisionLearner } from './vision';

/** One fitOneCycle phase; `epochs: 0` skips it. */
export interface Phase {
  epochs: number;
  lr: LrSpec;
}

export type PhaseKey = 'stage1' | 'stage1Unfrozen' | 'stage2a' | 'stage2b';

/** The recipe's defaults, the original's: 4 epochs frozen at 3e-3, 2 unfrozen at slice(1e-6, 1e-4); stage 2a 5, 2b 3 (epochs from lib/defaults.ts). */
export const DEFAULT_PHASES = {
  stage1: { epochs: DEFAULTS.epochs.stage1, lr: slice(3e-3) },
  stage1Unfrozen: { epochs: DEFAULTS.epochs.stage1Unfrozen, lr: slice(1e-6, 1e-4) },
  stage2a: { epochs: DEFAULTS.epochs.stage2a, lr: slice(3e-3) },
  stage2b: { epochs: DEFAULTS.epochs.stage2b, lr: slice(1e-6, 1e-4) },
} satisfies Record<PhaseKey, Phase>;

/** Checkpoint (and run.json phase) name of each phase. */
export const PHASE_NAMES: Record<PhaseKey, string> = { stage1: 'stage1-frozen', stage1Unfrozen: 'stage1-unfrozen', stage2a: 'stage2a', stage2b: 'stage2b' };

/** The phases in the order they run. */
export const PHASE_ORDER: PhaseKey[] = ['stage1', 'stage1Unfrozen', 'stage2a', 'stage2b'];

export interface TwoStageOptions {
  /** A classifier for `data.classes` (e.g. createModel(arch, {classes, weights})); or pass `learner`. */
  model?: CnnModel;
  /** An existing learner (e.g. from cnnLearner) to run the phases on, instead of `model`. */
  learner?: VisionLearner;
  /** A DataBunch (or any TrainData: an in-memory one in tests); default: the learner's. */
  data?: VisionData;
  /** Row i = word vector of data.classes[i]: `{vectors, dim}` (lib/vectors LabelEmbeddings) or rows. Needed for stage 2. */
  labelVectors?: ClassVectors;
  /** Stage-2 loss: 'cosine' (the original notebooks), 'hinge' (the DeViSE paper's rank loss), 'triplet' or 'hybrid' (P×K batches). */
  stage2Loss?: EmbeddingOptions['loss'];
  margin?: number;
  /** Keep stage 1's hidden head layers (BN + Dense 512) in the embedding head (default true). */
  keepHidden?: boolean;
  stage1?: Phase;
  stage1Unfrozen?: Phase;
  stage2a?: Phase;
  stage2b?: Phase;
  path?: string;
  wd?: number;
  progress?: ProgressMode;
  callbacks?: Callback[];
  /** Continue from the phases' checkpoints: finished phases are loaded and skipped, a stopped one resumes. */
  resume?: boolean;
  /** Told when a phase starts ('running') and finishes ('done'), e.g. to record it in run.json. */
  onPhase?(name: string, status: 'running' | 'done'): void;
}

/** A phase's checkpoint: none, stopped part-way, or finished. */
export type PhaseStatus = 'none' | 'partial' | 'done';

/** The recipe's state and steps. */
export interface TwoStageRecipe {
  /** The Learner of every phase (toEmbedding swaps its head in place). */
  learner: VisionLearner;
  stage: 1 | 2;
  /** Epochs and default learning rates of each phase. */
  phases: Record<PhaseKey, Phase>;
  /** Stage 1 frozen at `lr` (e.g. the LR finder's suggestion; default the phase's rate), then unfrozen. */
  stage1(lr?: LrSpec | number): Promise<FitResult[]>;
  toEmbedding(): VisionLearner;
  /** Stage 2a (head only) at `lr` (default the phase's rate). */
  stage2a(lr?: LrSpec | number): Promise<FitResult>;
  stage2b(lr?: LrSpec | number): Promise<FitResult>;
  /** Runs one phase at `lr` (default the phase's rate), freezing as the phase wants; with `resume`, a finished one is loaded instead. */
  phase(key: PhaseKey, lr?: LrSpec | number): Promise<FitResult>;
  /** What the phase's checkpoint holds. */
  phaseStatus(key: PhaseKey): PhaseStatus;
  /** Nearest-label top-1/top-5 accuracy of the embedding model on the validation set. */
  evaluateEmbedding(): Promise<{ top1: number; top5: number; cosineLoss: number }>;
}

/** Builds the two-stage recipe; nothing trains until a step is called. */
export function twoStageRecipe(opts: TwoStageOptions): TwoStageRecipe {
  const phases: Record<PhaseKey, Phase> = { ...DEFAULT_PHASES };
  for (const k of PHASE_ORDER) if (opts[k]) phases[k] = opts[k]!;
  if (!opts.learner && !(opts.model && opts.data)) throw new Error('twoStageRecipe needs a model (a classifier for data.classes) and its data, or a learner.');
  const learner = opts.learner ?? new VisionLearner({ data: opts.data!, wd: opts.wd, path: opts.path, progress: opts.progress, callbacks: opts.callbacks, model: opts.model!, loss: crossEntropy, metrics: [accuracy] });
  if (opts.learner && opts.callbacks) learner.callbacks.push(...opts.callbacks);

  const status = (key: PhaseKey): PhaseStatus => {
    const file = `${learner.checkpointDir(PHASE_NAMES[key])}/state.json`;
    if (!fs.existsSync(file)) return 'none';
    const st = JSON.parse(fs.readFileSync(file, 'utf8')) as { plan?: RunPlan; position?: Position };
    if (!st.plan || !st.position) return 'none';
    return st.position.epoch >= st.plan.epochs ? 'done' : 'partial';
  };

  const run = async (key: PhaseKey, lr?: LrSpec | number): Promise<FitResult> => {
    const p = { ...phases[key], ...(lr !== undefined && { lr: typeof lr === 'number' ? slice(lr) : lr }) };
    const name = PHASE_NAMES[key];
    if (key === 'stage2a' || key === 'stage2b') recipe.toEmbedding();
    else if (recipe.stage !== 1) throw new Error(`${key} runs on the classifier; the learner already has the embedding head.`);
    if (key === 'stage1' || key === 'stage2a') learner.freeze();
    else learner.unfreeze();
    if (p.epochs === 0) return { epochs: [] };
    const was = opts.resume ? status(key) : 'none';
    if (was === 'done') {
      await learner.load(name);
      return { epochs: learner.recorder.epochs.slice() };
    }
    opts.onPhase?.(name, 'running');
    const res = was === 'partial' ? await learner.resume(name) : await learner.fitOneCycle(p.epochs, p.lr, { checkpoint: name });
    // A stop that came after the last batch (e.g. Ctrl-C during the final validation) still finished the phase.
    if (!res.stopped || status(key) === 'done') opts.onPhase?.(name, 'done');
    return res;
  };

  const recipe: TwoStageRecipe = {
    learner,
    stage: learner.model.head.kind === 'embedding' ? 2 : 1,
    phases,
    phase: run,
    phaseStatus: status,
    async stage1(lr) {
      const a = await run('stage1', lr);
      if (a.stopped) return [a];
      return [a, await run('stage1Unfrozen')].filter((r) => r.epochs.length > 0 || r.stopped);
    },
    toEmbedding() {
      if (recipe.stage === 2) return learner;
      if (!opts.labelVectors) throw new Error('Stage 2 needs labelVectors (one word vector per class of data.classes); pass them to twoStageRecipe.');
      learner.toEmbedding(opts.labelVectors, { loss: opts.stage2Loss, margin: opts.margin, keepHidden: opts.keepHidden });
      recipe.stage = 2;
      return learner;
    },
    stage2a: (lr) => run('stage2a', lr),
    stage2b: (lr) => run('stage2b', lr),
    evaluateEmbedding() {
      recipe.toEmbedding();
      return learner.evaluateEmbedding();
    },
  };
  return recipe;
}
