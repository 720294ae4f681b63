import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadLayersModel, saveLayersModel, tf } from '../../lib/index';
import { tempDir } from '../helpers';

/** A small conv net with every kind of state a checkpoint must carry (conv, BN statistics, dense). */
function smallModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('filesystem model IO', () => {
  const tmp = tempDir();
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
  afterAll(() => tmp.cleanup());

  it('round-trips a layers model with identical predictions', async () => {
    const model = smallModel(1);
    // Non-trivial BN statistics, so a checkpoint that dropped them would predict differently.
    const bn = model.layers[2]!;
    bn.setWeights(bn.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -1, 1.5, 'float32', 7 + i)));
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 42);
    const dir = path.join(tmp.dir, 'roundtrip');
    await saveLayersModel(model, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadLayersModel(dir);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(manifest.format).toBe('layers-model');
    expect(manifest.weightsManifest[0].paths).toEqual(['weights.bin']);
    tf.dispose([a, b, x]);
  });

  it('overwrites an existing checkpoint atomically and leaves no temp folders', async () => {
    const dir = path.join(tmp.dir, 'overwrite');
    await saveLayersModel(smallModel(1), dir);
    const second = smallModel(2);
    await saveLayersModel(second, dir);
    const loaded = await loadLayersModel(dir);
    expect(Array.from(loaded.getWeights()[0]!.dataSync())).toEqual(Array.from(second.getWeights()[0]!.dataSync()));
    expect(fs.readdirSync(tmp.dir).filter((n) => n.startsWith('overwrite.'))).toEqual([]);
  });

  it('recovers the previous model when a save was killed between its renames', async () => {
    const dir = path.join(tmp.dir, 'killed');
    const model = smallModel(3);
    await saveLayersModel(model, dir);
    // The state kills after the first rename leave; the newest save wins, whatever the pids sort as.
    fs.renameSync(dir, `${dir}.old-1700000000500-99`);
    await saveLayersModel(smallModel(5), `${dir}.old-1700000000400-12345`);
    const loaded = await loadLayersModel(dir);
    expect(Array.from(loaded.getWeights()[0]!.dataSync())).toEqual(Array.from(model.getWeights()[0]!.dataSync()));
    expect(fs.existsSync(`${dir}.old-1700000000500-99`)).toBe(false);
  });

  it('rejects truncated weights and missing folders with errors that name the files', async () => {
    const dir = path.join(tmp.dir, 'truncated');
    await saveLayersModel(smallModel(4), dir);
    const bin = path.join(dir, 'weights.bin');
    fs.truncateSync(bin, fs.statSync(bin).size - 8);
    await expect(loadLayersModel(dir)).rejects.toThrow(/truncated or mismatched: weights\.bin hold \d+ bytes, model\.json describes \d+/);
    await expect(loadLayersModel(path.join(tmp.dir, 'nope'))).rejects.toThrow(/No TF\.js model in .*nope.*model\.json does not exist/);
  });
});
