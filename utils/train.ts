/**
 * Scripted training runs of the two-stage DeViSE recipe (no notebook needed).
 *
 *   npm run train -- --data <folder-per-class root | AWA2 root> --model squeezenet1_1 --weights sq.h5 \
 *     [--valid-pct 0.2] [--size 224] [--bs 16] [--epochs 4] [--unfreeze-epochs 2] [--lr 3e-3] \
 *     --stage 1|2 [--vectors glove.vec [--alias automobile=car] [--labels map.tsv]] [--from <checkpoint>] \
 *     [--classes a,b,c] [--loss cosine|hinge] [--out runs/x] [--seed 0] [--json]
 *
 * Stage 2 runs stage 1 first unless `--from` names a stage-1 checkpoint (e.g. runs/x/models/stage1).
 * `--epochs` is the length of the frozen phases (1 and 2a), `--unfreeze-epochs` of the unfrozen ones
 * (1b and 2b; 0 skips them). Checkpoints go to `<out>/models/{stage1,stage2a,stage2b}`. Ctrl-C stops at
 * the next batch and writes the checkpoint. With `--json` one JSON object is printed at the end.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { datasetClasses, imageDataBunch } from '../lib/data/loader';
import { type Arch, createModel, loadModel } from '../lib/models/index';
import { slice } from '../lib/train/schedule';
import { twoStageRecipe } from '../lib/train/recipe';
import type { FitResult } from '../lib/train/learner';
import { readLabelMap, wordVectorSource } from '../lib/vectors/labels';
import { openVectors } from '../lib/vectors/vec';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    'valid-pct': { type: 'string', default: '0.2' },
    model: { type: 'string', default: 'squeezenet1_1' },
    weights: { type: 'string' },
    size: { type: 'string', default: '224' },
    bs: { type: 'string', default: '16' },
    epochs: { type: 'string', default: '4' },
    'unfreeze-epochs': { type: 'string', default: '2' },
    lr: { type: 'string', default: '3e-3' },
    stage: { type: 'string', default: '1' },
    vectors: { type: 'string' },
    alias: { type: 'string' },
    labels: { type: 'string' },
    from: { type: 'string' },
    classes: { type: 'string' },
    loss: { type: 'string', default: 'cosine' },
    out: { type: 'string', default: 'runs/train' },
    seed: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});

function num(name: keyof typeof a): number {
  const v = Number(a[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} expects a number, got '${a[name]}'.`);
  return v;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  if (!a.data) throw new Error('--data <folder> is required (a folder with train/<class>/ images, or an AWA2 root).');
  const stage = num('stage');
  if (stage !== 1 && stage !== 2) throw new Error(`--stage must be 1 or 2, got ${a.stage}.`);
  if (stage === 2 && !a.vectors) throw new Error('--stage 2 needs --vectors <file.vec> (word vectors for the class names).');
  if (a.loss !== 'cosine' && a.loss !== 'hinge') throw new Error(`--loss must be cosine or hinge, got ${a.loss}.`);
  await initBackend();
  const seed = num('seed');
  const size = num('size');
  const log = (s: string): void => void (a.json ? process.stderr : process.stdout).write(`${s}\n`);

  const classes = a.classes ? a.classes.split(',') : undefined;
  const dataOpts = { root: a.data, size, bs: num('bs'), validPct: num('valid-pct'), seed, classes };
  const from = a.from ? await loadModel(a.from) : undefined;
  // The class list comes from the data (no images read), the preprocessing from the weights.
  const nClasses = (classes ?? datasetClasses(a.data)).length;
  const model = from ?? (await createModel(a.model as Arch, { classes: nClasses, weights: a.weights, inputSize: size, seed }));
  if (from && from.head.units !== nClasses) throw new Error(`--from ${a.from} has ${from.head.units} outputs but the data has ${nClasses} classes.`);
  const data = await imageDataBunch({ ...dataOpts, preprocessing: model.preprocessing });

  let labelVectors: { vectors: Float32Array; dim: number } | undefined;
  if (stage === 2) {
    const aliases = { ...(a.labels ? readLabelMap(a.labels) : {}), ...Object.fromEntries((a.alias ?? '').split(',').filter(Boolean).map((p) => p.split('=') as [string, string])) };
    labelVectors = wordVectorSource(await openVectors(a.vectors!), { aliases, normalize: true }).embed(data.classes);
  }
  const epochs = num('epochs');
  const unfrozen = num('unfreeze-epochs');
  const lr = slice(num('lr'));
  const recipe = twoStageRecipe({
    model,
    data,
    labelVectors,
    stage2Loss: a.loss,
    path: a.out,
    progress: 'terminal',
    stage1: { epochs, lr },
    stage1Unfrozen: { epochs: unfrozen, lr: slice(1e-6, 1e-4) },
    stage2a: { epochs, lr },
    stage2b: { epochs: unfrozen, lr: slice(1e-6, 1e-4) },
  });
  const ran: FitResult[] = [];
  const stopIfStopped = (r: FitResult[], name: string): void => {
    ran.push(...r);
    const stopped = r.find((x) => x.stopped)?.stopped;
    if (stopped) {
      log(`Stopped: ${stopped}. Checkpoint: ${path.resolve(a.out!, 'models', name)} (continue with learner.resume('${name}')).`);
      process.exit(130);
    }
  };
  let stage1Accuracy: number | undefined;
  if (!from) {
    log(`stage 1: ${a.model}, ${data.classes.length} classes, ${size}px`);
    stopIfStopped(await recipe.stage1(), 'stage1');
    stage1Accuracy = (await recipe.learner.validate()).metrics.accuracy;
  }
  const epochsRun = (): number => ran.reduce((n, r) => n + r.epochs.length, 0);
  if (stage === 1) {
    const result = { stage: 1, validAccuracy: stage1Accuracy, epochs: epochsRun(), seconds: (Date.now() - t0) / 1000, checkpoint: path.resolve(a.out!, 'models', 'stage1') };
    console.log(a.json ? JSON.stringify(result) : `valid accuracy ${result.validAccuracy?.toFixed(4)} after ${result.epochs} epochs (${result.seconds.toFixed(0)} s)`);
    return;
  }
  log(`stage 2: embedding head (${labelVectors!.dim}-d, ${a.loss} loss)`);
  stopIfStopped([await recipe.stage2a()], 'stage2a');
  if (unfrozen > 0) stopIfStopped([await recipe.stage2b()], 'stage2b');
  const ev = await recipe.evaluateEmbedding();
  const result = {
    stage: 2,
    validTop1: ev.top1,
    validTop5: ev.top5,
    validCosineLoss: ev.cosineLoss,
    stage1ValidAccuracy: stage1Accuracy,
    epochs: epochsRun(),
    seconds: (Date.now() - t0) / 1000,
    checkpoint: path.resolve(a.out!, 'models', unfrozen > 0 ? 'stage2b' : 'stage2a'),
  };
  console.log(a.json ? JSON.stringify(result) : `nearest-label accuracy top-1 ${ev.top1.toFixed(4)}, top-5 ${ev.top5.toFixed(4)} after ${result.epochs} epochs (${result.seconds.toFixed(0)} s)`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
