import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelWords, memoryVectorsFor, phraseCandidates, readLabelMap, wordVectorSource } from './labels-helpers';
import { openVectors, readVec } from '../../lib/vectors/vec';
import { SHARED } from '../helpers';

const WV = path.join(SHARED, 'data', 'wordvectors');
const W2V = path.join(WV, 'awa2-classes-googlenews-word2vec-300d.vec');
const META = path.join(SHARED, 'data', 'awa2-meta');
const awa2Classes = () => fs.readFileSync(path.join(META, 'classes.txt'), 'utf8').trim().split('\n').map((l) => l.trim().split('\t')[1]!);
const unit = (v: ArrayLike<number>) => {
  const n = Math.hypot(...Array.from(v));
  return Array.from(v, (x) => x / n);
};

describe('label → vector', () => {
  it('splits compound names and spells phrase tokens the word2vec way', () => {
    expect(labelWords('grizzly+bear')).toEqual(['grizzly', 'bear']);
    expect(labelWords(' Persian cat ')).toEqual(['Persian', 'cat']);
    expect(phraseCandidates('grizzly+bear')).toEqual(['grizzly+bear', 'grizzly_bear', 'Grizzly_bear', 'Grizzly_Bear', 'grizzly-bear']);
  });

  it('phrase token first, else mean of words, else alias; normalised', () => {
    const wv = memoryVectorsFor({ grizzly_bear: [3, 4], persian: [1, 0], Cat: [0, 1], longhaired_cat: [5, 5], dog: [0, 2] });
    const src = wordVectorSource(wv, { aliases: { 'blue+whale': 'dog', 'persian+cat': 'longhaired_cat' } });
    const e = src.embed(['grizzly+bear', 'persian+cat', 'blue+whale']);
    expect(e.how).toEqual(['phrase:grizzly_bear', 'mean:persian,cat', 'alias:dog']);
    expect(Array.from(e.vectors)).toEqual(Array.from(Float32Array.from([0.6, 0.8, Math.SQRT1_2, Math.SQRT1_2, 0, 1])));
    const raw = wordVectorSource(wv, { normalize: false }).embed(['persian cat']);
    expect(Array.from(raw.vectors)).toEqual([0.5, 0.5]);
  });

  it('lists every label that has no vector instead of inventing one', () => {
    const src = wordVectorSource(memoryVectorsFor({ cat: [1, 0] }));
    expect(() => src.embed(['cat', 'blue+whale', 'okapi'])).toThrow(/2 label\(s\): 'blue\+whale', 'okapi'.*alias/);
  });
});

describe.skipIf(!fs.existsSync(WV))('label vectors from the real shared files', () => {
  it('embeds all 50 AWA2 classes from word2vec through its .labels.tsv, equal to the file rows', async () => {
    const aliases = readLabelMap(path.join(WV, 'awa2-classes-googlenews-word2vec-300d.labels.tsv'));
    expect(Object.keys(aliases)).toHaveLength(50);
    const wv = await openVectors(W2V);
    const classes = awa2Classes();
    const e = wordVectorSource(wv, { aliases }).embed(classes);
    expect(e.labels).toEqual(classes);
    const raw = await readVec(W2V);
    classes.forEach((c, i) => {
      const t = raw.tokens.indexOf(aliases[c]!);
      expect(Array.from(e.vectors.slice(i * 300, (i + 1) * 300))).toEqual(Array.from(Float32Array.from(unit(raw.vectors.slice(t * 300, (t + 1) * 300)))));
    });
    expect(e.how[classes.indexOf('persian+cat')]).toBe('alias:longhaired_cat');
    expect(e.how[classes.indexOf('grizzly+bear')]).toBe('phrase:Grizzly_bear');
    wv.close();
  });

  it('covers CIFAR-10 with GloVe (automobile via alias car); AWA2 compound classes without aliases are reported', async () => {
    const wv = await openVectors(path.join(WV, 'glove6b-50d-concrete-nouns.vec'));
    const cifar = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const src = wordVectorSource(wv, { aliases: { automobile: 'car' } });
    const e = src.embed(cifar);
    expect(e.how[1]).toBe('alias:car');
    expect(e.vectors.length).toBe(500);
    let message = '';
    try { src.embed(awa2Classes()); } catch (err) { message = (err as Error).message; }
    expect(message).toMatch(/No word vector for \d+ label\(s\): .*'persian\+cat'/);
    wv.close();
  });
});
