/**
 * Writes a trained model as an inference-only TF.js layers model (`model.json` + `group1-shard*.bin`, 4 MB
 * shards as tfjs-converter writes them) that plain `@tensorflow/tfjs` loads with no project code, in fp32,
 * float16 or uint8 weights (uint8 keeps BatchNorm unfolded, its vectors in fp32); and reads one back.
 *
 *   const r = await exportModel(cnn, 'export/model', { quantize: 'uint8' });   // r.bytes: model.json + shards
 *   const m = await loadExportedModel('export/model');                          // a plain tf.LayersModel
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../backend/index';
import { writeDirAtomically } from '../backend/io';
import type { CnnModel } from '../models/index';
import { type FoldLog, inferenceArtifacts } from './fold';
import { encodeWeights, type ManifestEntry, type Quantize } from './quantize';

/** tfjs-converter's default shard size. */
export const SHARD_BYTES = 4 * 1024 * 1024;

/** What the export wrote. */
export interface ExportedModel {
  dir: string;
  quantize: Quantize;
  /** Files written, relative to `dir`. */
  files: string[];
  /** Bytes on disk of model.json + shards. */
  bytes: number;
  weightBytes: number;
  log: FoldLog;
}

/** The `devise` block every exported model.json carries in `userDefinedMetadata` (the app reads it). */
export interface ExportMeta {
  arch: string;
  inputSize: number;
  dim: number;
  preprocessing: CnnModel['preprocessing'];
  quantize: Quantize;
}

/** Folds, quantises and writes `m` into `dir` (replaced atomically). */
export async function exportModel(m: CnnModel, dir: string, opts: { quantize?: Quantize } = {}): Promise<ExportedModel> {
  const quantize = opts.quantize ?? 'none';
  // uint8 is per tensor: folding BatchNorm scales rows/channels by γ/σ (up to ~10× apart here), which stretches a
  // tensor's range and costs most of its 256 levels (measured: nearest-label agreement with fp32 59 % folded vs
  // 89 % unfolded on a demo run). So uint8 keeps BatchNorm as a standard layer with its four small vectors in fp32.
  const inf = await inferenceArtifacts(m.model, quantize === 'uint8' ? { before: false, after: false } : {});
  const { specs, data } = encodeWeights(inf.weights, (w) => (quantize === 'uint8' && isBatchNormWeight(w.name) ? 'none' : quantize));
  const shards: Uint8Array[] = [];
  for (let off = 0; off < data.byteLength || (off === 0 && shards.length === 0); off += SHARD_BYTES) shards.push(data.subarray(off, off + SHARD_BYTES));
  const names = shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`);
  const meta: ExportMeta = { arch: m.arch, inputSize: m.inputSize, dim: m.head.units, preprocessing: m.preprocessing, quantize };
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: 'devise-ts export',
    modelTopology: inf.topology,
    weightsManifest: [{ paths: names, weights: specs }],
    userDefinedMetadata: { devise: meta },
  };
  const json = JSON.stringify(modelJson);
  const files: Record<string, string | Uint8Array> = { 'model.json': json };
  names.forEach((n, i) => (files[n] = shards[i]!));
  writeDirAtomically(dir, files);
  return { dir, quantize, files: Object.keys(files), bytes: dirBytes(dir, Object.keys(files)), weightBytes: data.byteLength, log: inf.log };
}

/** BatchNorm's gamma/beta/moving statistics (kept in fp32 by uint8 exports). */
export function isBatchNormWeight(name: string): boolean {
  return /\/(gamma|beta|moving_mean|moving_variance)$/.test(name);
}

/** Bytes on disk of `files` under `dir`. */
export function dirBytes(dir: string, files: string[]): number {
  return files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

/** Reads an exported model with plain tfjs (`tf.io.fromMemory`; no custom layers are registered for it). */
export async function loadExportedModel(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: ManifestEntry[] }[];
  };
  const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const weightData = new Uint8Array(tf.io.CompositeArrayBuffer.join(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))));
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }));
}

/** The `devise` metadata of an exported model folder. */
export function readExportMeta(dir: string): ExportMeta {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata?: { devise?: ExportMeta } };
  if (!json.userDefinedMetadata?.devise) throw new Error(`${dir}/model.json has no devise metadata: export it with exportModel()`);
  return json.userDefinedMetadata.devise;
}
