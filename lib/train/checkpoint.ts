/**
 * Training checkpoints: one folder with the model (TF.js layers format: `model.json` + `weights.bin`
 * with the models module's `devise` metadata, so `loadModel(dir)` opens it as a CnnModel), the AdamW state
 * (`optimizer.json` + `optimizer.bin`) and the run's position (`state.json`). The folder is written
 * to a temporary sibling and renamed into place, so a killed save never damages the previous one.
 *
 *   await writeCheckpoint('models/stage1', model, opt.getState(), { position, plan });
 *   const ck = readCheckpoint('models/stage1'); applyWeights(model, ck); ck.dispose();
 *   const m = await loadModel('models/stage1');   // lib/models: the checkpoint as a standalone model
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../backend/index';
import { recoverInterruptedSave, writeDirAtomically } from '../backend/io';
import type { OptimizerState } from './optimizer';
import type { TrainModel } from './types';

const FILES = { model: 'model.json', weights: 'weights.bin', optJson: 'optimizer.json', optBin: 'optimizer.bin', state: 'state.json' };

/** A checkpoint read back: weights by original name, optimizer state, run state. */
export interface Checkpoint {
  dir: string;
  weights: tf.NamedTensorMap;
  optimizer?: OptimizerState;
  state: Record<string, unknown>;
  /** Frees the weight tensors. */
  dispose(): void;
}

/** Serialises the model's topology and weights (names are the weights' stable original names). */
async function modelArtifacts(model: tf.LayersModel): Promise<{ json: string; weights: Uint8Array }> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = captured!;
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData ?? new ArrayBuffer(0)));
  const modelJson: tf.io.ModelJSON = {
    modelTopology: a.modelTopology as tf.io.ModelJSON['modelTopology'],
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    weightsManifest: [{ paths: [FILES.weights], weights: a.weightSpecs ?? [] }],
    ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata } : {}),
  };
  return { json: JSON.stringify(modelJson), weights };
}

/** Writes a complete checkpoint folder atomically (write temp + rename). */
export async function writeCheckpoint(dir: string, m: TrainModel, optimizer: OptimizerState | undefined, state: Record<string, unknown>): Promise<void> {
  if (m.arch && m.head && m.preprocessing && m.inputSize) {
    // The metadata lib/models' saveModel writes, so loadModel(dir) reads a checkpoint as a CnnModel.
    m.model.setUserDefinedMetadata({ devise: { arch: m.arch, head: m.head, groups: m.layerGroups.length, preprocessing: m.preprocessing, inputSize: m.inputSize } });
  }
  const { json, weights } = await modelArtifacts(m.model);
  const files: Record<string, string | Uint8Array> = { [FILES.model]: json, [FILES.weights]: weights, [FILES.state]: JSON.stringify(state) };
  if (optimizer) {
    const slots = optimizer.slots.map(({ name, step, shape }) => ({ name, step, shape }));
    const total = optimizer.slots.reduce((n, s) => n + 2 * s.m.length, 0);
    const bin = new Float32Array(total);
    let at = 0;
    for (const s of optimizer.slots) {
      bin.set(s.m, at);
      bin.set(s.v, at + s.m.length);
      at += 2 * s.m.length;
    }
    files[FILES.optJson] = JSON.stringify({ options: optimizer.options, slots });
    files[FILES.optBin] = new Uint8Array(bin.buffer);
  }
  writeDirAtomically(dir, files);
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`Checkpoint file ${file} is missing or not valid JSON (${(err as Error).message}); save the checkpoint again.`);
  }
}

/** Reads a checkpoint folder written by `writeCheckpoint`. */
export function readCheckpoint(dir: string): Checkpoint {
  recoverInterruptedSave(dir);
  if (!fs.existsSync(path.join(dir, FILES.state))) {
    throw new Error(`No checkpoint in ${dir} (${FILES.state} missing). Save one with learner.save(name) first.`);
  }
  const modelJson = readJson<tf.io.ModelJSON>(path.join(dir, FILES.model));
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const buf = fs.readFileSync(path.join(dir, FILES.weights));
  const weights = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, specs);
  let optimizer: OptimizerState | undefined;
  if (fs.existsSync(path.join(dir, FILES.optJson))) {
    const o = readJson<{ options: OptimizerState['options']; slots: { name: string; step: number; shape: number[] }[] }>(path.join(dir, FILES.optJson));
    const raw = fs.readFileSync(path.join(dir, FILES.optBin));
    const bin = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    let at = 0;
    const slots = o.slots.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const slot = { ...s, m: bin.slice(at, at + n), v: bin.slice(at + n, at + 2 * n) };
      at += 2 * n;
      return slot;
    });
    if (at !== bin.length) throw new Error(`${path.join(dir, FILES.optBin)} holds ${bin.length} floats, optimizer.json describes ${at}; the checkpoint is damaged.`);
    optimizer = { options: o.options, slots };
  }
  return {
    dir,
    weights,
    optimizer,
    state: readJson<Record<string, unknown>>(path.join(dir, FILES.state)),
    dispose: () => Object.values(weights).forEach((t) => t.dispose()),
  };
}

/** Assigns the checkpoint's weights to `model` by original name; every weight must match in name and shape. */
export function applyWeights(model: tf.LayersModel, ck: Checkpoint): void {
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  const missing = model.weights.filter((w) => !(w.originalName in ck.weights)).map((w) => w.originalName);
  if (missing.length) {
    throw new Error(`Checkpoint ${ck.dir} does not fit this model: no weights for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}. Was it saved from a different architecture or head?`);
  }
  for (const [name, t] of Object.entries(ck.weights)) {
    const w = byName.get(name);
    if (!w) throw new Error(`Checkpoint ${ck.dir} has weight ${name}, which this model lacks (different architecture or head?).`);
    if (!tf.util.arraysEqual(w.shape as number[], t.shape)) throw new Error(`Checkpoint ${ck.dir}: ${name} has shape [${t.shape}], the model's is [${w.shape}].`);
    w.write(t);
  }
}
