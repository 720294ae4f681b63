import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageIndex, LabelIndex } from '../../lib/search';
import { wordVectorSource, readLabelMap } from '../../lib/vectors/labels';
import { openVectors } from '../../lib/vectors/vec';
import { wordnetSource } from '../../lib/vectors/wordnet';
import { SHARED, tempDir } from '../helpers';

const tmp = tempDir('devise-search-');
afterAll(() => tmp.cleanup());

function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
}
const randomRows = (n: number, dim: number, r: () => number) => Array.from({ length: n }, () => Array.from({ length: dim }, r));

describe('ImageIndex persistence', () => {
  it('saves index + table atomically; reload gives identical results; append after reload', () => {
    const r = rng(3);
    const pts = randomRows(2000, 32, r);
    const idx = new ImageIndex(32, { seed: 1 });
    idx.add(pts, pts.map((_, i) => ({ label: `c${i % 7}`, path: `img/${i}.jpg` })));
    const dir = path.join(tmp.dir, 'models', 'images');
    idx.save(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['index.hnsw', 'table.json']);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['images']); // no temp folders left behind
    const back = ImageIndex.load(dir);
    expect(back.size).toBe(2000);
    expect(back.options).toEqual(idx.options);
    const queries = randomRows(50, 32, r);
    for (const q of queries) expect(back.imageToImage(q, 10)).toEqual(idx.imageToImage(q, 10));
    expect(back.imageToImage(q0(queries), 3)[0]).toMatchObject({ label: expect.stringMatching(/^c\d$/), path: expect.stringMatching(/^img\/\d+\.jpg$/) });

    const extra = randomRows(30, 32, r);
    back.add(Float32Array.from(extra.flat()), extra.map((_, i) => ({ label: 'new', path: `new/${i}.jpg` })));
    back.save(dir);
    const again = ImageIndex.load(dir);
    expect(again.size).toBe(2030);
    const hit = again.imageToImage(extra[5]!, 1)[0]!;
    expect(hit).toMatchObject({ id: 2005, label: 'new', path: 'new/5.jpg' });
    expect(hit.score).toBeCloseTo(1, 5);
  });

  it('is deterministic for a seed, takes Float32Array or rows, honours k > default ef, excludes the query image', () => {
    const pts = randomRows(500, 16, rng(9));
    const a = new ImageIndex(16, { seed: 5 });
    const b = new ImageIndex(16, { seed: 5 });
    a.add(pts, pts.map(() => ({ label: 'x' })));
    b.add(Float32Array.from(pts.flat()), pts.map(() => ({ label: 'x' })));
    expect(b.imageToImage(pts[0]!, 20)).toEqual(a.imageToImage(pts[0]!, 20));
    expect(a.imageToImage(pts[1]!, 200)).toHaveLength(200); // ef is raised to k
    const byId = a.imageToImage(7, 5);
    expect(byId.map((h) => h.id)).not.toContain(7);
    const direct = a.imageToImage(pts[7]!, 6).filter((h) => h.id !== 7);
    expect(byId.map((h) => h.id)).toEqual(direct.map((h) => h.id));
    byId.forEach((h, i) => expect(h.score).toBeCloseTo(direct[i]!.score, 6));
  });

  it('reports bad input clearly', () => {
    const idx = new ImageIndex(4);
    expect(() => idx.add([[1, 2, 3]], [{ label: 'a' }])).toThrow(/vector 0 has 3 values, the index is 4-d/);
    expect(() => idx.add([[1, 2, 3, 4]], [])).toThrow(/1 vectors but 0 table rows/);
    expect(() => idx.imageToImage([1, 2], 1)).toThrow(/query has 2 values/);
    expect(() => ImageIndex.load(path.join(tmp.dir, 'nothing'))).toThrow(/table.json not found/);
    const labels = new LabelIndex(4);
    labels.add([[1, 0, 0, 0]], ['a']);
    labels.save(path.join(tmp.dir, 'labels'));
    expect(() => ImageIndex.load(path.join(tmp.dir, 'labels'))).toThrow(/expected a devise-ts image index, found label/);
    expect(LabelIndex.load(path.join(tmp.dir, 'labels')).search([1, 0, 0, 0], 1)[0]).toMatchObject({ label: 'a', id: 0 });
  });
});

function q0(q: number[][]): number[] {
  return q[0]!;
}

/** Synthetic "image embeddings": each class's vector plus small noise, so search answers are known. */
function imagesAround(classVectors: Float32Array, dim: number, labels: string[], perClass: number, noise: number) {
  const r = rng(11);
  const vecs: number[][] = [];
  const rows: { label: string; path: string }[] = [];
  labels.forEach((label, c) => {
    for (let i = 0; i < perClass; i++) {
      vecs.push(Array.from(classVectors.subarray(c * dim, (c + 1) * dim), (v) => v + noise * r()));
      rows.push({ label, path: `${label}/${i}.jpg` });
    }
  });
  return { vecs, rows };
}

describe('image ↔ text search', () => {
  it.skipIf(!fs.existsSync(path.join(SHARED, 'data', 'wordvectors')))('word2vec label space: imageToText finds the class, textToImage finds its images', async () => {
    const wvDir = path.join(SHARED, 'data', 'wordvectors');
    const wv = await openVectors(path.join(wvDir, 'awa2-classes-googlenews-word2vec-300d.vec'));
    const source = wordVectorSource(wv, { aliases: readLabelMap(path.join(wvDir, 'awa2-classes-googlenews-word2vec-300d.labels.tsv')) });
    const classes = ['zebra', 'horse', 'grizzly+bear', 'polar+bear', 'killer+whale', 'dolphin'];
    const emb = source.embed(classes);
    const labels = LabelIndex.fromEmbeddings(emb);
    const { vecs, rows } = imagesAround(emb.vectors, 300, classes, 20, 0.02);
    const images = new ImageIndex(300);
    images.add(vecs, rows);
    const top = images.imageToText(vecs[45]!, labels, 3);
    expect(top[0]!.label).toBe('grizzly+bear');
    const cos = (i: number, j: number) => emb.vectors.subarray(i * 300, (i + 1) * 300).reduce((s, v, k) => s + v * emb.vectors[j * 300 + k]!, 0);
    const nearestOther = [0, 1, 3, 4, 5].sort((i, j) => cos(2, j) - cos(2, i))[0]!;
    expect(top[1]!.label).toBe(classes[nearestOther]); // the class word2vec puts nearest to grizzly bear
    expect(images.imageToText(45, labels, 1)[0]!.label).toBe('grizzly+bear');
    expect(images.textToImage('zebra', source, 20).every((h) => h.label === 'zebra')).toBe(true);
    expect(images.textToImage('Polar Bear', source, 5).map((h) => h.label)).toEqual(new Array(5).fill('polar+bear'));
    expect(() => images.textToImage('okapi', source, 5)).toThrow(/'okapi'/);
    wv.close();
  });

  it('zero-shot with WordNet: a word that is no indexed class retrieves its nearest class in the hierarchy', () => {
    const source = wordnetSource();
    const classes = ['dog', 'cat', 'car', 'teapot'];
    const emb = source.embed(classes);
    const { vecs, rows } = imagesAround(emb.vectors, 300, classes, 10, 0.02);
    const images = new ImageIndex(300);
    images.add(vecs, rows);
    expect(images.textToImage('puppy', source, 10).map((h) => h.label)).toEqual(new Array(10).fill('dog'));
    expect(images.textToImage('siamese cat', source, 10).map((h) => h.label)).toEqual(new Array(10).fill('cat'));
    expect(() => images.textToImage('dog', { ...source, dim: 50 }, 1)).toThrow(/50-d vectors, the image index is 300-d/);
  });
});
