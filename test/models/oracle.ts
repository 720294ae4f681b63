/** Runs the torchvision oracle (test/oracle/torchvision_oracle.py) once into a temp dir and reads its outputs. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../../lib/backend/index';
import { ROOT, tempDir } from '../helpers';

export interface Oracle {
  dir: string;
  file: (name: string) => string;
  tensor: (name: string) => tf.Tensor;
  manifest: Record<string, unknown>;
  cleanup: () => void;
}

/** Generates .pth files, inputs and torchvision outputs with Debian's torch; throws with its stderr if that fails. */
export function runOracle(args: string[] = []): Oracle {
  const { dir, cleanup } = tempDir('devise-oracle-');
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test/oracle/torchvision_oracle.py'), dir, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`torchvision oracle failed (needs /usr/bin/python3 with torch + torchvision):\n${r.stderr}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  return {
    dir,
    manifest,
    cleanup,
    file: (name) => path.join(dir, name),
    tensor: (name) => {
      const b = fs.readFileSync(path.join(dir, `${name}.f32`));
      return tf.tensor(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), manifest[name] as number[]);
    },
  };
}

/** max |a − b| / max |b|: the error relative to the reference's scale. */
export function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / tf.max(tf.abs(b)).dataSync()[0]!);
}
