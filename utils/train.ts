/**
 * Scripted training runs of the two-stage DeViSE recipe (no notebook needed).
 *
 *   npm run train -- --data <folder-per-class root | AWA2 root> --model squeezenet1_1 --weights sq.h5 \
 *     [--valid-pct 0.2] [--size 224] [--bs 16] [--epochs 4] [--unfreeze-epochs 2] [--lr 3e-3] \
 *     --stage 1|2 [--vectors glove.vec [--alias automobile=car] [--labels map.tsv]] [--from <checkpoint>] \
 *     [--classes a,b,c] [--loss cosine|hinge] [--out runs/x] [--seed 0] [--json]
 *   npm run train -- --resume runs/x          # after Ctrl-C or a crash: continues where it stopped
 *
 * The run folder (--out) holds run.json (settings and which phases are done) and one checkpoint per phase under
 * models/: stage1-frozen, stage1-unfrozen, stage2a, stage2b. `--epochs` is the length of the frozen phases (stage 1
 * frozen, 2a), `--unfreeze-epochs` of the unfrozen ones (0 skips them). Stage 2 runs stage 1 first unless `--from`
 * names a stage-1 checkpoint (e.g. runs/x/models/stage1-unfrozen). Ctrl-C stops after the current batch, writes
 * the phase's checkpoint, prints the command that resumes it and exits 130; a second Ctrl-C exits at once.
 * With `--json` one JSON object is printed at the end (progress goes to stderr).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { writeFileAtomically } from '../lib/backend/io';
import { defineCli, type FlagValues, parsePairs, runCli, shellQuote, UserError } from '../lib/cli';
import { datasetClasses, imageDataBunch } from '../lib/data/loader';
import { ARCHS, type Arch } from '../lib/models/registry';
import { createModel, loadModel } from '../lib/models/index';
import { slice } from '../lib/train/schedule';
import { PHASE_NAMES, type PhaseKey, twoStageRecipe } from '../lib/train/recipe';
import { INTERRUPTED } from '../lib/train/types';
import type { FitResult } from '../lib/train/learner';
import { readLabelMap, wordVectorSource } from '../lib/vectors/labels';
import { openVectors } from '../lib/vectors/vec';
import { exitStopped, interruptGuard, resumeCommandFor, shownPath as shown } from './resume';

const FLAGS = {
  data: { type: 'path', placeholder: '<dir>', description: 'a folder with train/<class>/ (or <class>/) images, or an AWA2 root (required unless --resume)' },
  'valid-pct': { type: 'number', default: 0.2, placeholder: '<fraction>', description: 'share of each class held out for validation when there is no valid/ folder' },
  model: { type: 'string', default: 'squeezenet1_1', choices: Object.keys(ARCHS), description: 'backbone' },
  weights: { type: 'path', placeholder: '<file>', description: 'pretrained weights (.pth, .h5 or a TF.js model folder; default: random init)' },
  size: { type: 'integer', default: 224, placeholder: '<px>', description: 'image size' },
  bs: { type: 'integer', default: 16, description: 'batch size' },
  epochs: { type: 'integer', default: 4, description: 'epochs of the frozen phases (stage 1 frozen, stage 2a)' },
  'unfreeze-epochs': { type: 'integer', default: 2, description: 'epochs of the unfrozen phases (stage 1 unfrozen, 2b); 0 skips them' },
  lr: { type: 'number', default: 3e-3, description: 'max learning rate of the frozen phases (one-cycle)' },
  stage: { type: 'integer', default: 1, placeholder: '1|2', description: '1: classifier only; 2: then the DeViSE embedding (needs --vectors)' },
  vectors: { type: 'path', placeholder: '<file.vec>', description: 'word vectors for the class names (stage 2)' },
  alias: { type: 'string', placeholder: '<label=word,...>', description: 'word to look up for a class name missing from --vectors, e.g. killer+whale=orca' },
  labels: { type: 'path', placeholder: '<file.tsv>', description: 'class → word table (label<TAB>word lines), like --alias for many classes' },
  from: { type: 'path', placeholder: '<checkpoint>', description: 'start stage 2 from this stage-1 checkpoint (e.g. runs/x/models/stage1-unfrozen) instead of training stage 1' },
  classes: { type: 'string', placeholder: '<a,b,c>', description: 'train on these classes only (default: all of the data)' },
  loss: { type: 'string', default: 'cosine', choices: ['cosine', 'hinge'], description: 'stage-2 loss' },
  out: { type: 'path', default: 'runs/train', placeholder: '<dir>', description: 'run folder: run.json and models/<phase>/ checkpoints' },
  seed: { type: 'integer', default: 0, description: 'seed of the split, shuffling, augmentation, init and dropout' },
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

const RUN_FORMAT = 'devise-ts-run-1';

interface RunFile {
  format: string;
  arch: string;
  size: number;
  seed: number;
  labels: string;
  data: string;
  classes: string[];
  testClasses: string[];
  preprocessing: unknown;
  lr: Record<string, unknown>;
  phases: Record<string, 'done' | 'running'>;
  /** The command that made the run, so --resume rebuilds it. */
  command?: { tool: string; settings: Partial<Record<string, unknown>> };
}

function readRunFile(dir: string): RunFile | undefined {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RunFile;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message})`, 'the run folder is damaged; start a new run with another --out');
  }
}

/** The settings of a --resume: those recorded in `<dir>/run.json`. */
function resumeSettings(dir: string, given: Set<string>): Values {
  if (!fs.existsSync(dir)) throw new UserError(`--resume ${dir} does not exist`, 'pass the --out folder of the run to continue');
  const run = readRunFile(dir);
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
  if (a.stage === 2 && !a.vectors) throw new UserError('--stage 2 needs --vectors <file.vec> (word vectors for the class names)');
  if (a.stage === 1 && a.from) {
    throw new UserError(`--from ${a.from} with --stage 1 leaves nothing to train (--from replaces stage 1)`,
      `pass --stage 2 --vectors <file.vec> to train the embedding from it, or --resume <run dir> to continue an interrupted run`);
  }
  const keys: PhaseKey[] = a.stage === 1 ? ['stage1', 'stage1Unfrozen'] : a.from ? ['stage2a', 'stage2b'] : ['stage1', 'stage1Unfrozen', 'stage2a', 'stage2b'];
  const epochsOf = (k: PhaseKey): number => (k === 'stage1' || k === 'stage2a' ? a.epochs : a['unfreeze-epochs']);
  if (a.epochs < 0 || a['unfreeze-epochs'] < 0) throw new UserError('--epochs and --unfreeze-epochs must be ≥ 0');
  if (keys.every((k) => epochsOf(k) === 0)) throw new UserError('nothing to train: every phase has 0 epochs', 'pass --epochs 1 or more (and/or --unfreeze-epochs)');
  if (!resuming && !a.force) {
    const old = readRunFile(out);
    const started = old ? Object.keys(old.phases ?? {}) : [];
    if (started.length) {
      throw new UserError(`${out} already holds a run (phases ${started.map((p) => `${p} ${old!.phases[p]}`).join(', ')})`,
        `continue it with: npm run train -- --resume ${shellQuote(shown(out))}   (or choose another --out, or pass --force to start over)`);
    }
  }

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
  const model = from ?? (await createModel(a.model as Arch, { classes: nClasses, weights: a.weights, inputSize: a.size, seed: a.seed }));
  const data = await imageDataBunch({ root: a.data, size: a.size, bs: a.bs, validPct: a['valid-pct'], seed: a.seed, preprocessing: model.preprocessing, classes, skipEmpty, onWarning: log });

  let labelVectors: { vectors: Float32Array; dim: number } | undefined;
  if (a.stage === 2) {
    const aliases = { ...(a.labels ? readLabelMap(a.labels) : {}), ...parsePairs('alias', a.alias) };
    labelVectors = wordVectorSource(await openVectors(a.vectors!), { aliases, normalize: true, aliasHint: `--alias ${'<label>=<word>'}, or --labels <file.tsv>` }).embed(data.classes);
  }

  // run.json: the run-directory contract plus the command's settings (what --resume rebuilds the run from).
  const state: RunFile = readRunFile(out) && resuming ? readRunFile(out)! : {
    format: RUN_FORMAT, arch: model.arch, size: a.size, seed: a.seed, labels: a.stage === 2 ? a.vectors! : 'none', data: a.data,
    classes: data.classes, testClasses: data.testClasses ?? [], preprocessing: model.preprocessing,
    lr: { stage1: a.lr, stage2a: a.lr }, phases: {},
    command: { tool: 'train', settings: Object.fromEntries(SETTINGS.filter((k) => a[k] !== undefined).map((k) => [k, a[k]])) },
  };
  const save = (): void => writeFileAtomically(path.join(out, 'run.json'), JSON.stringify(state, null, 2) + '\n');
  save();
  runStarted = true;

  const recipe = twoStageRecipe({
    model,
    data,
    labelVectors,
    stage2Loss: a.loss as 'cosine' | 'hinge',
    path: out,
    progress: 'terminal',
    stage1: { epochs: a.epochs, lr: slice(a.lr) },
    stage1Unfrozen: { epochs: a['unfreeze-epochs'], lr: slice(1e-6, 1e-4) },
    stage2a: { epochs: a.epochs, lr: slice(a.lr) },
    stage2b: { epochs: a['unfreeze-epochs'], lr: slice(1e-6, 1e-4) },
    callbacks: [guard.callback],
    resume: resuming,
    onPhase: (name, status) => {
      state.phases[name] = status;
      save();
    },
  });

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
    const r = await recipe.phase(key);
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
  const result = { stage: 2, validTop1: ev.top1, validTop5: ev.top5, validCosineLoss: ev.cosineLoss, validLoss: ev.cosineLoss, stage1ValidAccuracy: stage1Accuracy, epochs, seconds, checkpoint, run: path.resolve(out) };
  console.log(a.json ? JSON.stringify(result) : `nearest-label accuracy top-1 ${ev.top1.toFixed(4)}, top-5 ${ev.top5.toFixed(4)} after ${epochs} epochs (${seconds.toFixed(0)} s); checkpoint ${shown(checkpoint)}`);
});
