/**
 * The original notebooks' two-stage DeViSE recipe as one object whose steps notebooks call one by one:
 * stage 1 trains a classifier (frozen body, then unfrozen with discriminative LRs); stage 2 swaps the
 * classifier for an embedding head and regresses the class word vectors (2a head only, 2b everything).
 *
 *   const r = twoStageRecipe({ model, data, labelVectors: emb, path: 'runs/sq' });
 *   await r.stage1();            // freeze → fitOneCycle(4, 3e-3) → unfreeze → fitOneCycle(2, slice(1e-6, 1e-4))
 *   r.toEmbedding();             // swapHead(embedding, dim) and a new Learner with the cosine loss
 *   await r.stage2a();           // frozen, 5 epochs
 *   await r.stage2b();           // unfrozen, 3 epochs
 *   r.learner.recorder.epochs    // the current stage's table
 *
 * Checkpoints `stage1`, `stage2a`, `stage2b` are written under `<path>/models/` (resumable with learner.resume).
 */
import { tf } from '../backend/index';
import type { DataBunch } from '../data/loader';
import { cosineLoss, crossEntropy, hingeRankLoss, type Loss } from '../losses';
import { type CnnModel, swapHead } from '../models/index';
import type { Callback } from './callbacks';
import { type FitResult, Learner } from './learner';
import { accuracy, nearestLabelAccuracy, type Metric } from './metrics';
import type { ProgressMode } from './progress';
import { type LrSpec, slice } from './schedule';

/** One fitOneCycle phase; `epochs: 0` skips it. */
export interface Phase {
  epochs: number;
  lr: LrSpec;
}

export interface TwoStageOptions {
  /** A classifier for `data.classes` (e.g. createModel(arch, {classes, weights})). */
  model: CnnModel;
  data: Pick<DataBunch, 'classes' | 'train' | 'valid'>;
  /** Row i = word vector of data.classes[i]: `{vectors, dim}` (lib/vectors LabelEmbeddings) or rows. Needed for stage 2. */
  labelVectors?: { vectors: Float32Array; dim: number } | number[][];
  /** Stage-2 loss: 'cosine' (the original notebooks) or 'hinge' (the DeViSE paper's rank loss). */
  stage2Loss?: 'cosine' | 'hinge';
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
}

/** The recipe's state and steps. */
export interface TwoStageRecipe {
  /** The current stage's Learner (replaced by `toEmbedding`). */
  learner: Learner;
  stage: 1 | 2;
  stage1(): Promise<FitResult[]>;
  toEmbedding(): Learner;
  stage2a(): Promise<FitResult>;
  stage2b(): Promise<FitResult>;
  /** Nearest-label top-1/top-5 accuracy of the embedding model on the validation set. */
  evaluateEmbedding(): Promise<{ top1: number; top5: number; cosineLoss: number }>;
  /** Every step in order (stage 2 only when `stages` includes 2). */
  run(stages?: 1 | 2): Promise<void>;
}

export const DEFAULT_PHASES = {
  stage1: { epochs: 4, lr: slice(3e-3) },
  stage1Unfrozen: { epochs: 2, lr: slice(1e-6, 1e-4) },
  stage2a: { epochs: 5, lr: slice(3e-3) },
  stage2b: { epochs: 3, lr: slice(1e-6, 1e-4) },
} satisfies Record<string, Phase>;

/** Builds the two-stage recipe; nothing trains until a step is called. */
export function twoStageRecipe(opts: TwoStageOptions): TwoStageRecipe {
  const phases = { ...DEFAULT_PHASES, ...pick(opts) };
  const common = { data: opts.data, wd: opts.wd, path: opts.path, progress: opts.progress, callbacks: opts.callbacks };
  let stage2: { dim: number; loss: Loss; metrics: Metric[]; cosine: Loss } | undefined;
  /** Stage-2 loss and metrics, built on first use (stage 1 needs no vectors). */
  const embedding = (): NonNullable<typeof stage2> => {
    if (stage2) return stage2;
    if (!opts.labelVectors) throw new Error('Stage 2 needs labelVectors (one word vector per class of data.classes); pass them to twoStageRecipe.');
    const n = opts.data.classes.length;
    const rows = Array.isArray(opts.labelVectors) ? opts.labelVectors : unflatten(opts.labelVectors.vectors, opts.labelVectors.dim);
    if (rows.length !== n) throw new Error(`labelVectors has ${rows.length} rows but the data has ${n} classes; embed data.classes in order.`);
    const vectors = tf.tensor2d(rows);
    const cosine = cosineLoss(vectors);
    const loss = opts.stage2Loss === 'hinge' ? hingeRankLoss(vectors, opts.margin ?? 0.1) : cosine;
    stage2 = { dim: rows[0]!.length, loss, cosine, metrics: [nearestLabelAccuracy(vectors, 1), nearestLabelAccuracy(vectors, 5)] };
    vectors.dispose();
    return stage2;
  };

  const phase = async (learn: Learner, p: Phase, name: string): Promise<FitResult | undefined> =>
    p.epochs > 0 ? learn.fitOneCycle(p.epochs, p.lr, { checkpoint: name }) : undefined;

  const recipe: TwoStageRecipe = {
    learner: new Learner({ ...common, model: opts.model, loss: crossEntropy, metrics: [accuracy] }),
    stage: 1,
    async stage1() {
      if (recipe.stage !== 1) throw new Error('stage1() runs on the classifier; it was already swapped to the embedding head.');
      const out: FitResult[] = [];
      recipe.learner.freeze();
      const a = await phase(recipe.learner, phases.stage1, 'stage1');
      if (a) out.push(a);
      if (!a?.stopped && phases.stage1Unfrozen.epochs > 0) {
        recipe.learner.unfreeze();
        out.push((await phase(recipe.learner, phases.stage1Unfrozen, 'stage1'))!);
      }
      return out;
    },
    toEmbedding() {
      if (recipe.stage === 2) return recipe.learner;
      const e = embedding();
      const old = recipe.learner.model as CnnModel;
      const model = swapHead(old, { kind: 'embedding', units: e.dim, keepHidden: opts.keepHidden ?? true });
      old.model.dispose();
      recipe.learner = new Learner({ ...common, model, loss: e.loss, metrics: e.metrics });
      recipe.stage = 2;
      return recipe.learner;
    },
    async stage2a() {
      const learn = recipe.toEmbedding();
      learn.freeze();
      return (await phase(learn, phases.stage2a, 'stage2a')) ?? { epochs: [] };
    },
    async stage2b() {
      const learn = recipe.toEmbedding();
      learn.unfreeze();
      return (await phase(learn, phases.stage2b, 'stage2b')) ?? { epochs: [] };
    },
    async evaluateEmbedding() {
      const learn = recipe.toEmbedding();
      const e = embedding();
      const saved = { loss: learn.loss, metrics: learn.metrics };
      learn.loss = e.cosine;
      learn.metrics = e.metrics;
      try {
        const v = await learn.validate();
        return { top1: v.metrics[e.metrics[0]!.metricName]!, top5: v.metrics[e.metrics[1]!.metricName]!, cosineLoss: v.loss };
      } finally {
        Object.assign(learn, saved);
      }
    },
    async run(stages = 2) {
      await recipe.stage1();
      if (stages === 2) {
        await recipe.stage2a();
        await recipe.stage2b();
      }
    },
  };
  return recipe;
}

function unflatten(v: Float32Array, dim: number): number[][] {
  return Array.from({ length: v.length / dim }, (_, i) => Array.from(v.subarray(i * dim, (i + 1) * dim)));
}

function pick(o: TwoStageOptions): Partial<Record<keyof typeof DEFAULT_PHASES, Phase>> {
  const out: Partial<Record<keyof typeof DEFAULT_PHASES, Phase>> = {};
  for (const k of Object.keys(DEFAULT_PHASES) as (keyof typeof DEFAULT_PHASES)[]) if (o[k]) out[k] = o[k];
  return out;
}
