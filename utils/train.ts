/**
 * Scripted training runs of the two-stage DeViSE recipe (no notebook needed).
 *
 *   npm run train -- --data <folder-per-class root | AWA2 root> --model squeezenet1_1 [--weights sq.h5|none] \
 *     [--valid-pct 0.1] [--size 224] [--bs 16] [--epochs N] [--unfreeze-epochs N] [--lr 3e-3] \
 *     --stage 1|2 [--vectors word2vec|glove100|file.vec [--alias automobile=car] [--labels map.tsv]] [--from <checkpoint>] \
 *     [--classes a,b,c] [--loss cosine|hinge|triplet|hybrid] [--out runs/x] [--seed 0] [--json]
 *   npm run train -- --resume runs/x          # after Ctrl-C or a crash: continues where it stopped
 *
 * The run folder (--out) holds run.json (settings and which phases are done) and one checkpoint per phase under
 * models/: stage1-frozen, stage1-unfrozen, stage2a, stage2b. By default every phase runs the recipe's epochs (4, 2,
 * 5, 3: lib/defaults.ts), the frozen phases (stage 1, 2a) at the LR finder's suggestion, from the pretrained weights.
 * `--epochs` sets the length of both frozen phases, `--unfreeze-epochs` of both unfrozen ones (0 skips them), `--lr`
 * the frozen phases' rate (no LR finder). Stage 2 runs stage 1 first unless `--from`
 * names a stage-1 checkpoint (e.g. runs/x/models/stage1-unfrozen). Ctrl-C stops after the current batch, writes
 * the phase's checkpoint, prints the command that resumes it and exits 130; a second Ctrl-C exits at once.
 * With `--json` one JSON object is printed at the end (progress goes to stderr).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { defineCli, type FlagValues, parsePairs, runCli, shellQuote, UserError, userPath } from '../lib/cli';
import { datasetClasses } from '../lib/data/loader';
import { DEFAULTS } from '../lib/defaults';
import { ARCHS, type Arch } from '../lib/models/registry';
import { crossEntropy } from '../lib/losses';
import { type CnnModel, loadModel } from '../lib/models/index';
import { chooseLr, lrWhy } from '../lib/pipeline/notebook';
import { openRunFolder, readRunFile, RUN_FORMAT, type RunFile, writeRunFile } from '../lib/run-folder';
import { findPretrained } from '../lib/settings';
import { DEFAULT_PHASES, PHASE_NAMES, type PhaseKey, twoStageRecipe } from '../lib/train/recipe';
import { INTERRUPTED } from '../lib/train/types';
import { accuracy } from '../lib/train/metrics';
import { cnnLearner, type EmbeddingOptions, ImageDataBunch, VisionLearner } from '../lib/train/vision';
import type { FitResult } from '../lib/train/learner';
import { readLabelMap, wordVectorSource } from '../lib/vectors/labels';
import { openVectors } from '../lib/vectors/vec';
import { LABEL_SOURCES, labelSource } from '../lib/vectors/sources';
import { exitStopped, interruptGuard, resumeCommandFor, shownPath as shown } from './resume';

const FLAGS = {
  data: { type: 'path', placeholder: '<dir>', description: 'a folder with train/<class>/ (or <class>/) images, or an AWA2 root (required unless --resume)' },
  'per-class': { type: 'integer', placeholder: '<n>', description: 'at most n images per class (the first in path order): a quick run on a big dataset (default: all)' },
  'valid-pct': { type: 'number', default: DEFAULTS.data.validPct, placeholder: '<fraction>', description: 'share of each class held out for validation when there is no valid/ folder' },
  model: { type: 'string', default: 'squeezenet1_1', choices: Object.keys(ARCHS), description: 'backbone' },
  weights: { type: 'string', placeholder: '<file|none>', description: 'pretrained weights (.pth, .h5 or a TF.js model folder), or none for random init (default: the downloaded or shipped pretrained file)' },
  size: { type: 'integer', default: DEFAULTS.data.size, placeholder: '<px>', description: 'image size' },
  bs: { type: 'integer', default: DEFAULTS.data.bs, description: 'batch size' },
  epochs: { type: 'integer', description: `epochs of the frozen phases (default: the recipe's ${DEFAULTS.epochs.stage1} for stage 1, ${DEFAULTS.epochs.stage2a} for stage 2a)` },
  'unfreeze-epochs': { type: 'integer', description: `epochs of the unfrozen phases; 0 skips them (default: the recipe's ${DEFAULTS.epochs.stage1Unfrozen} for stage 1, ${DEFAULTS.epochs.stage2b} for stage 2b)` },
  lr: { type: 'number', description: "max learning rate of the frozen phases (one-cycle; default: the LR finder's suggestion for each)" },
  'lr-find-iterations': { type: 'integer', default: DEFAULTS.lrFindIterations, placeholder: '<n>', description: 'steps of each LR finder run' },
  stage: { type: 'integer', default: 1, placeholder: '1|2', description: '1: classifier only; 2: then the DeViSE embedding (needs --vectors)' },
  vectors: { type: 'string', placeholder: '<name|file.vec>', description: `label space for the class names (stage 2): a source name (${Object.keys(LABEL_SOURCES).join(', ')}) or a .vec file` },
  alias: { type: 'string', placeholder: '<label=word,...>', description: 'word to look up for a class name missing from --vectors, e.g. killer+whale=orca' },
  labels: { type: 'path', placeholder: '<file.tsv>', description: 'class → word table (label<TAB>word lines), like --alias for many classes' },
  from: { type: 'path', placeholder: '<checkpoint>', description: 'start stage 2 from this stage-1 checkpoint (e.g. runs/x/models/stage1-unfrozen) instead of training stage 1' },
  classes: { type: 'string', placeholder: '<a,b,c>', description: 'train on these classes only (default: all of the data)' },
  loss: { type: 'string', default: 'cosine', choices: ['cosine', 'hinge', 'triplet', 'hybrid'], description: 'stage-2 loss (triplet, hybrid: P×K batches, K = 4)' },
  out: { type: 'path', default: 'runs/train', placeholder: '<dir>', description: 'run folder: run.json and models/<phase>/ checkpoints' },
  seed: { type: 'integer', default: DEFAULTS.data.seed, description: 'seed of the split, shuffling, augmentation, init and dropout' },
  resume: { type: 'path', placeholder: '<run dir>', description: 'continue the run in this folder where it stopped, with its own settings' },
  'skip-empty': { type: 'boolean', description: 'leave out class folders with no images (or unreadable) with a warning, instead of stopping' },
  force: { type: 'boolean', description: 'start over in an --out that already holds a run (its checkpoints are replaced)' },
  json: { type: 'boolean', description: 'print one JSON object at the end (progress goes to stderr)' },
} as const;

export const cli = defineCli({
  command: 'npm run train --',
  summary: 'Trains the two-stage DeViSE recipe: stage 1 a classifier (frozen body, then unfrozen), stage 2 the embedding head ' +
    'regressing the class word vectors (2a frozen, 2b unfrozen). Ctrl-C stops after the batch and keeps a checkpoint; --resume continues.',
  flags: FLAGS,
  examples: [
    'npm run train -- --data data_samples --stage 1 --epochs 1 --unfreeze-epochs 1 --size 64 --out runs/quick',
    'npm run train -- --data awa2 --weights squeezenet1_1.pth --stage 2 --vectors crawl-300d-2M.vec --out runs/sq',
    'npm run train -- --resume runs/sq',
  ],
});

type Values = FlagValues<typeof FLAGS>;
/** The flags a run is rebuilt from on --resume (everything but resume/force/json). */
const SETTINGS = (Object.keys(FLAGS) as (keyof typeof FLAGS)[]).filter((k) => !['resume', 'force', 'json'].includes(k));

/** `<dir>/run.json` through the run-folder module; a damaged one is a user error naming it. */
function runFileOf(dir: string): RunFile | undefined {
  try {
    return readRunFile(dir);
  } catch (err) {
    throw new UserError((err as Error).message, 'the run folder is damaged; start a new run with another --out');
  }
}

/** The settings of a --resume: those recorded in `<dir>/run.json`. */
function resumeSettings(dir: string, given: Set<string>): Values {
  if (!fs.existsSync(dir)) throw new UserError(`--resume ${dir} does not exist`, 'pass the --out folder of the run to continue');
  const run = runFileOf(dir);
  if (!run) throw new UserError(`--resume ${dir} holds no run (no run.json)`, 'pass the --out folder of an npm run train run');
  if (run.command?.tool === 'demo') throw new UserError(`${dir} is a run of npm run demo`, `continue it with: npm run demo -- --resume ${shellQuote(shown(path.dirname(dir)))}`);
  if (run.command?.tool !== 'train') throw new UserError(`${path.join(dir, 'run.json')} does not say how the run was started (no command)`, 'it was not written by npm run train; start a new run instead');
  const extra = [...given].filter((k) => !['resume', 'json'].includes(k));
  if (extra.length) throw new UserError(`--resume continues with the run's own settings; drop ${extra.map((k) => `--${k}`).join(', ')}`, `to change them, start a new run (another --out, or --force)`);
  const v = { ...(run.command.settings as Partial<Values>) } as Record<string, unknown>;
  v.out = dir;
  return v as Values;
}

runCli(async () => {
  const t0 = Date.now();
  const { values: typed, given } = cli.parse();
  const resuming = typed.resume !== undefined;
  const a: Values = resuming ? { ...resumeSettings(typed.resume!, given), json: typed.json, resume: typed.resume, force: false } : typed;
  const out = a.out;
  const log = (s: string): void => void (a.json ? process.stderr : process.stdout).write(`${s}\n`);

  // Usage checks before anything is loaded.
  if (!a.data) throw new UserError('--data is required: a folder with train/<class>/ images, or an AWA2 root', 'e.g. npm run train -- --data data_samples --stage 1');
  if (a.stage !== 1 && a.stage !== 2) throw new UserError(`--stage must be 1 or 2, got ${a.stage}`);
  if (a.stage === 2 && !a.vectors) throw new UserError(`--stage 2 needs --vectors <name|file.vec> (a label source: ${Object.keys(LABEL_SOURCES).join(', ')}, or word vectors for the class names)`);
  if (a.stage === 1 && a.from) {
    throw new UserError(`--from ${a.from} with --stage 1 leaves nothing to train (--from replaces stage 1)`,
      `pass --stage 2 --vectors <file.vec> to train the embedding from it, or --resume <run dir> to continue an interrupted run`);
  }
  const keys: PhaseKey[] = a.stage === 1 ? ['stage1', 'stage1Unfrozen'] : a.from ? ['stage2a', 'stage2b'] : ['stage1', 'stage1Unfrozen', 'stage2a', 'stage2b'];
  // The recipe's epochs per phase (4, 2, 5, 3) unless --epochs / --unfreeze-epochs set the frozen / unfrozen ones.
  const epochsOf = (k: PhaseKey): number => (k === 'stage1' || k === 'stage2a' ? a.epochs : a['unfreeze-epochs']) ?? DEFAULTS.epochs[k];
  if ((a.epochs ?? 0) < 0 || (a['unfreeze-epochs'] ?? 0) < 0) throw new UserError('--epochs and --unfreeze-epochs must be ≥ 0');
  if (keys.every((k) => epochsOf(k) === 0)) throw new UserError('nothing to train: every phase has 0 epochs', 'pass --epochs 1 or more (and/or --unfreeze-epochs)');
  if (!resuming && !a.force) {
    const old = runFileOf(out);
    const started = old ? Object.keys(old.phases ?? {}) : [];
    if (started.length) {
      throw new UserError(`${out} already holds a run (phases ${started.map((p) => `${p} ${old!.phases[p]}`).join(', ')})`,
        `continue it with: npm run train -- --resume ${shellQuote(shown(out))}   (or choose another --out, or pass --force to start over)`);
    }
  }

  // One run per folder: a second `npm run train` (or demo) into --out refuses, naming this one (released at exit).
  openRunFolder(out, ['npm run train --', ...process.argv.slice(2)].join(' '));

  // Ctrl-C: the running phase stops after its batch and writes its checkpoint; outside a phase the run exits at once.
  let runStarted = false;
  const resumeCommand = resumeCommandFor('train', out);
  const guard = interruptGuard(log, () => (runStarted ? resumeCommand : undefined));

  await initBackend();
  const classes = a.classes ? a.classes.split(',').map((c) => c.trim()).filter(Boolean) : undefined;
  const from = a.from ? await loadModel(a.from) : undefined;
  // The class list comes from the data (no images read), the preprocessing from the weights.
  const skipEmpty = a['skip-empty'];
  const nClasses = (classes ?? datasetClasses(a.data, undefined, { skipEmpty })).length;
  if (from && from.head.units !== nClasses) throw new UserError(`--from ${a.from} has ${from.head.units} outputs but the data has ${nClasses} classes`, 'pass the same --data and --classes the checkpoint was trained on');
  // The pretrained weights by default; `--weights none` for random initialisation (cnnLearner says so).
  const weights = a.weights === 'none' ? null : a.weights ? userPath(a.weights) : findPretrained(a.model);
  // The notebook's calls: the data bunch, then cnnLearner (the weights' body + fastai's head, the data normalised as
  // the weights expect). With --from, fastai's `learn.load`: the saved stage-1 classifier on the same data.
  const data = await ImageDataBunch.fromFolder(a.data, { size: a.size, bs: a.bs, validPct: a['valid-pct'], perClass: a['per-class'], seed: a.seed, classes, skipEmpty, onWarning: log });
  const learner = from ? await learnerFrom(from, data, out) : await cnnLearner(data, a.model as Arch, { weights, seed: a.seed, path: out, progress: 'terminal' });
  const model = learner.model;

  // --vectors: a label-source name (word2vec, glove100, wordnet, …) or a .vec file (with --alias / --labels for missing words).
  let labelVectors: { vectors: Float32Array; dim: number } | undefined;
  if (a.stage === 2) {
    const named = a.vectors! in LABEL_SOURCES;
    const aliases = { ...(a.labels ? readLabelMap(a.labels) : {}), ...parsePairs('alias', a.alias) };
    const source = named
      ? await labelSource(a.vectors!, { awa2Meta: a.data, seed: a.seed })
      : wordVectorSource(await openVectors(userPath(a.vectors!)), { aliases, normalize: true, aliasHint: `--alias ${'<label>=<word>'}, or --labels <file.tsv>` });
    labelVectors = source.embed(data.classes);
  }

  // run.json: the run-directory contract plus the command's settings (what --resume rebuilds the run from).
  // The settings --resume rebuilds the run from, with the weights as resolved now (a later download changes nothing).
  const settings: Record<string, unknown> = { ...Object.fromEntries(SETTINGS.filter((k) => a[k] !== undefined).map((k) => [k, a[k]])), weights: weights ?? 'none' };
  const state: RunFile = (resuming && runFileOf(out)) || {
    format: RUN_FORMAT, arch: model.arch, size: a.size, bs: a.bs, validPct: a['valid-pct'], ...(a['per-class'] !== undefined && { perClass: a['per-class'] }), seed: a.seed, labels: a.stage === 2 ? a.vectors! : 'none', data: a.data,
    classes: data.classes, testClasses: data.testClasses ?? [], preprocessing: model.preprocessing,
    lr: {}, phases: {},
    command: { tool: 'train', settings },
  };
  const save = (): void => writeRunFile(out, state);
  save();
  runStarted = true;

  const recipe = twoStageRecipe({
    learner,
    labelVectors,
    stage2Loss: a.loss as EmbeddingOptions['loss'],
    stage1: { ...DEFAULT_PHASES.stage1, epochs: epochsOf('stage1') },
    stage1Unfrozen: { ...DEFAULT_PHASES.stage1Unfrozen, epochs: epochsOf('stage1Unfrozen') },
    stage2a: { ...DEFAULT_PHASES.stage2a, epochs: epochsOf('stage2a') },
    stage2b: { ...DEFAULT_PHASES.stage2b, epochs: epochsOf('stage2b') },
    callbacks: [guard.callback],
    resume: resuming,
    onPhase: (name, status) => {
      state.phases[name] = status;
      save();
    },
  });

  // The frozen phases' rate: --lr, else the LR finder's suggestion on the phase's model (as the notebook); passed to the phase.
  const rateOf = async (key: PhaseKey): Promise<number | undefined> => {
    if (key !== 'stage1' && key !== 'stage2a') return undefined;
    if (a.lr !== undefined) return a.lr;
    if (epochsOf(key) === 0 || (resuming && recipe.phaseStatus(key) !== 'none')) return undefined; // skipped, loaded or resumed with its own plan
    if (key === 'stage2a') recipe.toEmbedding();
    recipe.learner.freeze();
    const chosen = chooseLr(await recipe.learner.lrFind({ numIt: a['lr-find-iterations'] }), key);
    log(`${PHASE_NAMES[key]} trains at ${chosen.value.toExponential(2)} (${lrWhy(chosen)})`);
    state.lr = { ...state.lr, [key]: chosen };
    save();
    return chosen.value;
  };
  const ran: FitResult[] = [];
  let stage1Accuracy: number | undefined;
  if (resuming) {
    const done = keys.filter((k) => recipe.phaseStatus(k) === 'done').map((k) => PHASE_NAMES[k]);
    log(`resuming ${shown(out)}${done.length ? ` (done: ${done.join(', ')})` : ''}`);
  }
  for (const key of keys) {
    if (key === 'stage1' && !resuming) log(`stage 1: ${a.model}, ${data.classes.length} classes, ${a.size}px`);
    if (key === 'stage2a') log(`stage 2: embedding head (${labelVectors!.dim}-d, ${a.loss} loss)`);
    if (guard.interrupted) exitStopped(log, INTERRUPTED, out, resumeCommand, data.train.length);
    const r = await recipe.phase(key, await rateOf(key));
    ran.push(r);
    if (r.stopped || guard.interrupted) exitStopped(log, r.stopped ?? INTERRUPTED, out, resumeCommand, data.train.length);
    // The classifier's accuracy before stage 2 swaps its head (reported in stage 2's result).
    if (key === 'stage1Unfrozen' && a.stage === 2) stage1Accuracy = (await recipe.learner.validate()).metrics.accuracy;
  }

  const epochs = ran.reduce((n, r) => n + r.epochs.length, 0);
  const last = keys.filter((k) => epochsOf(k) > 0).pop()!;
  const checkpoint = path.resolve(out, 'models', PHASE_NAMES[last]);
  const seconds = (Date.now() - t0) / 1000;
  if (a.stage === 1) {
    const v = await recipe.learner.validate();
    const result = { stage: 1, validAccuracy: v.metrics.accuracy, validLoss: v.loss, epochs, seconds, checkpoint, run: path.resolve(out) };
    console.log(a.json ? JSON.stringify(result) : `valid accuracy ${result.validAccuracy?.toFixed(4)}, loss ${v.loss.toFixed(4)} after ${epochs} epochs (${seconds.toFixed(0)} s); checkpoint ${shown(checkpoint)}`);
    return;
  }
  const ev = await recipe.evaluateEmbedding();
  // A triplet embedding is judged by kNN against the training images (its nearest label means nothing); hybrid by both.
  const knn = a.loss === 'triplet' || a.loss === 'hybrid' ? await recipe.learner.evaluateKnn(5) : undefined;
  // A plain triplet embedding is never pulled toward the label vectors: its nearest-label accuracy is null, not a number.
  const labelled = a.loss !== 'triplet';
  const result = { stage: 2, validTop1: labelled ? ev.top1 : null, validTop5: labelled ? ev.top5 : null, validCosineLoss: ev.cosineLoss, validLoss: ev.cosineLoss, ...(knn && { validKnnAccuracy: knn.accuracy, knnK: knn.k }), stage1ValidAccuracy: stage1Accuracy, epochs, seconds, checkpoint, run: path.resolve(out) };
  const knnText = knn ? `kNN (k = 5) accuracy ${knn.accuracy.toFixed(4)}, ` : '';
  console.log(a.json ? JSON.stringify(result) : `${knnText}${labelled ? `nearest-label accuracy top-1 ${ev.top1.toFixed(4)}, top-5 ${ev.top5.toFixed(4)} ` : ''}after ${epochs} epochs (${seconds.toFixed(0)} s); checkpoint ${shown(checkpoint)}`);
});

/** fastai's `learn.load` for `--from`: a learner over `data` (normalised as the checkpoint expects) with the saved classifier. */
async function learnerFrom(model: CnnModel, data: ImageDataBunch, out: string): Promise<VisionLearner> {
  await data.normalizeFor(model.preprocessing, model.arch);
  return new VisionLearner({ model, data, loss: crossEntropy, metrics: [accuracy], path: out, progress: 'terminal' });
}
