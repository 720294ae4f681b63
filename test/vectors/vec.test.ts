import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildVecCache, openVectors, readVec } from '../../lib/vectors/vec';
import { runTs, SHARED, tempDir } from '../helpers';

const WV = path.join(SHARED, 'data', 'wordvectors');
const GLOVE = path.join(WV, 'glove6b-50d-concrete-nouns.vec');
const W2V = path.join(WV, 'awa2-classes-googlenews-word2vec-300d.vec');
const tmp = tempDir('devise-vec-');
afterAll(() => tmp.cleanup());

/** Independent oracle: the line's fields parsed with split + Number, rounded to float32. */
function rowFromText(file: string, token: string): Float32Array {
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${token} `))!;
  return Float32Array.from(line.trim().split(/\s+/).slice(1).map(Number));
}

describe.skipIf(!fs.existsSync(WV))('readVec on the real shared files', () => {
  it('reads the GloVe file: header, 3,091 rows of 50 values equal to a split/Number parse', async () => {
    const r = await readVec(GLOVE);
    expect(r.header).toEqual({ count: 3091, dim: 50 });
    expect(r.dim).toBe(50);
    expect(r.tokens.length).toBe(3091);
    expect(r.duplicates).toEqual([]);
    for (const w of ['dog', 'truck', 'airplane']) {
      const i = r.tokens.indexOf(w);
      expect(r.vectors.slice(i * 50, (i + 1) * 50)).toEqual(rowFromText(GLOVE, w));
    }
  });

  it('keeps only the requested tokens (CIFAR-10 words) and reads the 300-d word2vec file', async () => {
    const cifar = ['airplane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck', 'not-a-word'];
    const r = await readVec(GLOVE, { keep: cifar });
    expect(r.rows).toBe(3091);
    expect(new Set(r.tokens)).toEqual(new Set(cifar.slice(0, 10)));
    expect(r.vectors.length).toBe(10 * 50);
    const w = await readVec(W2V, { keep: ['Grizzly_bear', 'longhaired_cat'] });
    expect(w.dim).toBe(300);
    expect(w.tokens.sort()).toEqual(['Grizzly_bear', 'longhaired_cat']);
    const i = w.tokens.indexOf('Grizzly_bear');
    expect(w.vectors.slice(i * 300, (i + 1) * 300)).toEqual(rowFromText(W2V, 'Grizzly_bear'));
  });
});

describe('readVec on malformed files', () => {
  it('tolerates BOM, CRLF, extra spaces, no header, blank lines, duplicates (first wins, reported) and bad UTF-8', async () => {
    const f = path.join(tmp.dir, 'messy.vec');
    const bad = Buffer.from([0x63, 0x61, 0xff, 0x66]); // 'ca\xFFf': invalid UTF-8
    fs.writeFileSync(f, Buffer.concat([
      Buffer.from('\uFEFFcat  0.5 -1e-2  3 \r\n\r\n'),
      Buffer.from('dog\t1 2 3\r\n'),
      bad, Buffer.from(' 7 8 9\r\n'),
      Buffer.from('cat 9 9 9\r\n'),
      Buffer.from('émeu +4.25 .5 -0\n'),
      Buffer.from('last 1E2 2.5e+1 -3.0E-1'), // no final newline
    ]));
    const r = await readVec(f);
    expect(r.header).toBeUndefined();
    expect(r.dim).toBe(3);
    expect(r.rows).toBe(6);
    expect(r.tokens).toEqual(['cat', 'dog', 'ca\uFFFDf', 'émeu', 'last']);
    expect(Array.from(r.vectors)).toEqual(Array.from(Float32Array.from([0.5, -0.01, 3, 1, 2, 3, 7, 8, 9, 4.25, 0.5, -0, 100, 25, -0.3])));
    expect(r.duplicates).toEqual([{ token: 'cat', line: 5, firstLine: 1 }]);
    expect(r.invalidUtf8Lines).toEqual([4]);
  });

  it('rejects a row of the wrong dimension with file:line, kept or not', async () => {
    const f = path.join(tmp.dir, 'short.vec');
    fs.writeFileSync(f, '3 2\na 1 2\nb 3 4\nc 5\n');
    await expect(readVec(f)).rejects.toThrow(`${f}:4: expected a token and 2 values, found 1`);
    await expect(readVec(f, { keep: ['a'] })).rejects.toThrow(`${f}:4:`);
    await expect(readVec(f, { dim: 3 })).rejects.toThrow(`${f}:1: header says dimension 2`);
    fs.writeFileSync(f, 'a 1 2\nb 3 x\n');
    await expect(readVec(f)).rejects.toThrow(`${f}:2: value 2 'x' of 'b' is not a number`);
    fs.writeFileSync(f, '');
    await expect(readVec(f)).rejects.toThrow('no vectors found');
  });

  it('parses numbers exactly like Number() on random values', async () => {
    const f = path.join(tmp.dir, 'nums.vec');
    let x = 1;
    const rand = () => ((x = (x * 48271) % 2147483647) / 2147483647 - 0.5) * 10 ** ((x % 9) - 4);
    const rows = Array.from({ length: 200 }, (_, i) => [`w${i}`, ...Array.from({ length: 8 }, () => rand().toPrecision(1 + (x % 9)))]);
    fs.writeFileSync(f, rows.map((r) => r.join(' ')).join('\n'));
    const r = await readVec(f);
    expect(Array.from(r.vectors)).toEqual(Array.from(Float32Array.from(rows.flatMap((row) => row.slice(1).map(Number)))));
  });
});

describe('binary cache', () => {
  it('round-trips every vector, reopens without rereading, rebuilds when the .vec changes', async () => {
    const f = path.join(tmp.dir, 'cached.vec');
    fs.writeFileSync(f, '4 3\nuno 1 2 3\ndos 4 5 6\nuno 7 7 7\ntrés 0.25 -1 1e-3\n');
    const cache = path.join(tmp.dir, 'cached.vec.dvv');
    const wv = await openVectors(f, { cache });
    expect(wv.dim).toBe(3);
    expect(wv.size).toBe(3);
    expect([...wv.words()]).toEqual(['uno', 'dos', 'trés']);
    expect(Array.from(wv.get('uno')!)).toEqual([1, 2, 3]);
    expect(wv.get('trés')).toEqual(Float32Array.from([0.25, -1, 1e-3]));
    expect(wv.get('cuatro')).toBeUndefined();
    wv.close();
    const built = fs.statSync(cache).mtimeMs;
    const again = await openVectors(f, { cache });
    expect(fs.statSync(cache).mtimeMs).toBe(built);
    expect(Array.from(again.get('dos')!)).toEqual([4, 5, 6]);
    again.close();
    fs.appendFileSync(f, 'cuatro 4 4 4\n');
    const rebuilt = await openVectors(f, { cache });
    expect(Array.from(rebuilt.get('cuatro')!)).toEqual([4, 4, 4]);
    rebuilt.close();
    expect(fs.readdirSync(tmp.dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it.skipIf(!fs.existsSync(GLOVE))('matches readVec on the real GloVe file for every word', async () => {
    const cache = path.join(tmp.dir, 'glove.dvv');
    const report = await buildVecCache(GLOVE, cache);
    expect(report.rows).toBe(3091);
    const r = await readVec(GLOVE);
    const wv = await openVectors(cache);
    expect(wv.size).toBe(r.tokens.length);
    r.tokens.forEach((t, i) => expect(wv.get(t)).toEqual(r.vectors.slice(i * 50, (i + 1) * 50)));
    wv.close();
  });

  it('a failed build leaves no cache and no temp file', async () => {
    const f = path.join(tmp.dir, 'broken.vec');
    fs.writeFileSync(f, 'a 1 2\nb 1\n');
    const cache = path.join(tmp.dir, 'broken.dvv');
    await expect(buildVecCache(f, cache)).rejects.toThrow(`${f}:2:`);
    expect(fs.readdirSync(tmp.dir).filter((n) => n.startsWith('broken.dvv'))).toEqual([]);
  });
});

// Heavy (≈2 GB written to a temp dir, ~1–2 min): DEVISE_SLOW=1 npx vitest run test/vectors
describe.skipIf(!process.env.DEVISE_SLOW)('scale (DEVISE_SLOW=1)', () => {
  it('reads a generated 1M-line × 300-d .vec keeping 1,000 words with peak RSS < 300 MB', () => {
    const res = runTs('bench/index.ts', ['vectors', '--lines', '1000000', '--dim', '300', '--keep', '1000', '--json']);
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { kept: number; fileMB: number; peakRssMB: number };
    expect(out.kept).toBe(1000);
    expect(out.fileMB).toBeGreaterThan(1800);
    expect(out.peakRssMB).toBeLessThan(300);
  }, 900_000);
});
