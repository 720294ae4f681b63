// A consumer that knows nothing of devise-ts: plain @tensorflow/tfjs with its stock wasm backend, and node:fs.
// usage: node plain-load.mjs <inputs.bin> <n> <size> <modelDir> <out.bin> [<modelDir> <out.bin> ...]
// Loads each exported model.json + shards through tf.io.fromMemory and writes its embeddings (float32).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const [inputs, n, size, ...pairs] = process.argv.slice(2);
if (!(await tf.setBackend(process.env.PLAIN_BACKEND ?? 'wasm'))) await tf.setBackend('cpu');
const buf = fs.readFileSync(inputs);
const x = tf.tensor4d(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), [Number(n), Number(size), Number(size), 3]);
const report = [];
for (let i = 0; i < pairs.length; i += 2) {
  const dir = pairs[i];
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const weightData = Buffer.concat(shards);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  }));
  const y = model.predict(x);
  fs.writeFileSync(pairs[i + 1], Buffer.from((await y.data()).buffer));
  report.push({ dir, classes: [...new Set(json.modelTopology.config.layers.map((l) => l.class_name))], shape: y.shape });
  y.dispose();
  model.dispose();
}
console.log(JSON.stringify({ backend: tf.getBackend(), report }));
