/**
 * One small stage-2 run shared by the export and web-app tests, written per the run-directory contract
 * (run.json, labels.json, models/stage2b/): SqueezeNet 1.1 with the Keras ImageNet body, at 128 px
 * (data_samples' native size), the GoogleNews word2vec vectors of the AWA2 classes from ../shared (WordNet if absent), non-trivial BatchNorm statistics (so folding is really
 * tested) and the last Dense fitted in closed form (ridge regression of penultimate features onto the class
 * vectors of the train images), so nearest labels have real margins. Built once per machine into a temp
 * folder by one test worker (a lock folder; the others wait), renamed into place atomically.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Matrix, solve } from 'ml-matrix';
import { tf, initBackend } from '../../lib/backend/index';
import { createModel, saveModel } from '../../lib/models/index';
import { AWA2_WORDNET, wordnetSource } from '../../lib/vectors/wordnet';
import { embedFiles } from '../../lib/export/run';
import { runItems, type LabelTable, type RunFile as RunInfo } from '../../lib/run-folder';
import { ROOT, SHARED } from '../helpers';

const VERSION = 'w2';
export const FIXTURE_SIZE = 128;

/** The fixture run folder (built on first use). */
export async function fixtureRun(): Promise<string> {
  const dir = path.join(os.tmpdir(), `devise-export-fixture-${VERSION}`);
  if (fs.existsSync(path.join(dir, 'run.json'))) return dir;
  // One builder at a time (test files run in parallel workers): the others wait for its rename.
  const lock = `${dir}.lock`;
  const take = () => {
    try {
      fs.mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  };
  let mine = take();
  if (!mine && Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 10 * 60_000) {
    fs.rmSync(lock, { recursive: true, force: true }); // left by a killed run
    mine = take();
  }
  if (!mine) {
    for (let t = 0; t < 600 && !fs.existsSync(path.join(dir, 'run.json')); t++) await new Promise((r) => setTimeout(r, 1000));
    if (fs.existsSync(path.join(dir, 'run.json'))) return dir;
  }
  try {
    await initBackend();
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await buildRun(tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true }); // another worker won the race
    }
  } finally {
    if (mine) fs.rmSync(lock, { recursive: true, force: true });
  }
  return dir;
}

async function buildRun(dir: string): Promise<void> {
  const data = path.join(ROOT, 'data_samples');
  const read = (f: string) => fs.readFileSync(path.join(data, f), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
  const classes = read('trainclasses.txt');
  const testClasses = read('testclasses.txt');
  const weights = path.join(SHARED, 'weights', 'keras-squeezenet', 'squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5');
  const cnn = await createModel('squeezenet1_1', { head: 'embedding', dim: 300, inputSize: FIXTURE_SIZE, weights: fs.existsSync(weights) ? weights : undefined, seed: 0 });
  const all = [...classes, ...testClasses];
  const { name: sourceName, emb } = labelVectors(all);
  const labels: LabelTable = {
    source: sourceName,
    dim: emb.dim,
    classes: all,
    seen: all.map((c) => classes.includes(c)),
    vectors: all.map((_, i) => Array.from(emb.vectors.slice(i * emb.dim, (i + 1) * emb.dim))),
  };
  const info: RunInfo = { format: 'devise-ts-run-1', arch: 'squeezenet1_1', size: FIXTURE_SIZE, seed: 0, labels: sourceName, data, classes, testClasses, preprocessing: cnn.preprocessing, phases: { stage2b: 'done' } };
  // BatchNorm statistics as after training (seeded), so folding them is exercised.
  let seed = 1;
  for (const l of cnn.model.layers) {
    if (!l.getClassName().includes('BatchNorm')) continue;
    l.setWeights(l.getWeights().map((w, i) => tf.tidy(() => (i === 3 ? tf.randomUniform(w.shape, 0.5, 2, 'float32', seed++) : tf.randomNormal(w.shape, i === 0 ? 1 : 0, 0.2, 'float32', seed++)))));
  }
  // Ridge regression of the penultimate activations (input of head_fc2) onto the label vectors.
  const items = await runItems(info);
  const penultimate = tf.model({ inputs: cnn.model.inputs, outputs: cnn.model.getLayer('head_fc2').input as tf.SymbolicTensor });
  const [feats] = await embedFiles([penultimate], items.train.map((it) => it.path), FIXTURE_SIZE, cnn.preprocessing);
  const X = new Matrix(feats!.map((r) => [...Array.from(r), 1]));
  const Y = new Matrix(items.train.map((it) => labels.vectors[all.indexOf(it.label)]!));
  const lambda = 1;
  const XtX = X.transpose().mmul(X).add(Matrix.eye(X.columns).mul(lambda));
  const B = solve(XtX, X.transpose().mmul(Y)); // [(512 + 1), dim]
  const kernel = B.subMatrix(0, X.columns - 2, 0, emb.dim - 1).to2DArray();
  const bias = B.getRow(X.columns - 1);
  cnn.model.getLayer('head_fc2').setWeights([tf.tensor2d(kernel), tf.tensor1d(bias)]);
  fs.mkdirSync(dir, { recursive: true });
  await saveModel(cnn, path.join(dir, 'models', 'stage2b'));
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info, null, 2));
  fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(labels));
  cnn.model.dispose();
}

/** word2vec vectors of `labels` (the shipped 50-class .vec and its label → token map), else WordNet embeddings. */
function labelVectors(labels: string[]): { name: string; emb: { dim: number; vectors: Float32Array } } {
  const dir = path.join(SHARED, 'data', 'wordvectors');
  const vec = path.join(dir, 'awa2-classes-googlenews-word2vec-300d.vec');
  if (!fs.existsSync(vec)) {
    const source = wordnetSource({ ...AWA2_WORDNET, seed: 0 });
    return { name: source.name, emb: source.embed(labels) };
  }
  const tokens = new Map(fs.readFileSync(vec.replace(/\.vec$/, '.labels.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t') as [string, string]));
  const rows = new Map(fs.readFileSync(vec, 'utf8').trim().split('\n').slice(1).map((l) => {
    const [t, ...v] = l.trim().split(' ');
    return [t!, v.map(Number)] as const;
  }));
  const dim = rows.values().next().value!.length;
  const vectors = new Float32Array(labels.length * dim);
  labels.forEach((l, i) => {
    const v = rows.get(tokens.get(l) ?? l);
    if (!v) throw new Error(`fixture: no word2vec vector for ${l}`);
    vectors.set(v, i * dim);
  });
  return { name: 'word2vec', emb: { dim, vectors } };
}
