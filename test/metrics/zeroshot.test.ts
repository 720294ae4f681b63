import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../lib/metrics';
import { readAwa2Split } from '../../lib/vectors/attributes';
import { readLabelMap, wordVectorSource } from '../../lib/vectors/labels';
import { openVectors } from '../../lib/vectors/vec';
import { AWA2_WORDNET, hopMatrix } from '../../lib/vectors/wordnet';
import { SHARED } from '../helpers';

const META = path.join(SHARED, 'data', 'awa2-meta');
const WV = path.join(SHARED, 'data', 'wordvectors');

describe.skipIf(!fs.existsSync(WV))('zero-shot protocols on the real AWA2 label space', () => {
  it('proposed and standard splits with word2vec classes and WordNet hops: protocol invariants hold', async () => {
    const wv = await openVectors(path.join(WV, 'awa2-classes-googlenews-word2vec-300d.vec'));
    const source = wordVectorSource(wv, { aliases: readLabelMap(path.join(WV, 'awa2-classes-googlenews-word2vec-300d.labels.tsv')) });
    for (const split of ['proposed', 'standard'] as const) {
      const { seen, unseen } = readAwa2Split(META, split);
      const labels = [...seen, ...unseen];
      const classes = source.embed(labels);
      const hops = hopMatrix(labels, AWA2_WORDNET);
      // Stand-in image embeddings: class vector + seeded noise (unbalanced: 3..12 images per class).
      let x = 5;
      const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
      const embeddings: number[][] = [];
      const actual: string[] = [];
      labels.forEach((l, c) => {
        for (let i = 0; i < 3 + (c % 10); i++) {
          embeddings.push(Array.from(classes.vectors.subarray(c * 300, (c + 1) * 300), (v) => v + 1.2 * rnd()));
          actual.push(l);
        }
      });
      const rows = evaluate({ embeddings, actual, classes, seen, unseen, hops });
      const get = (p: string, m: string) => rows.find((r) => r.protocol === p && r.metric === m)!.value;
      for (const p of ['seen', 'zsl']) {
        expect(get(p, 'hp@1')).toBe(get(p, 'hit@1')); // radius 0 = the true label only
        expect(get(p, 'hit@5')).toBeGreaterThanOrEqual(get(p, 'hit@1'));
      }
      // Adding the other split's labels can only take correct answers away (and here does: noise norm ≈ 6× the unit class vectors).
      expect(get('gzsl', 'u')).toBeLessThan(get('zsl', 'per-class top-1'));
      expect(get('gzsl', 's')).toBeLessThan(get('seen', 'per-class top-1'));
      expect(get('zsl', 'per-class top-1')).not.toBe(get('zsl', 'hit@1')); // unbalanced classes: per-class mean ≠ per-sample
      expect(get('gzsl', 'H')).toBeCloseTo((2 * get('gzsl', 'u') * get('gzsl', 's')) / (get('gzsl', 'u') + get('gzsl', 's')), 12);
      expect(get('zsl', 'per-class top-1')).toBeGreaterThan(0.5); // word2vec separates the 10 unseen classes despite the noise
      expect(rows.every((r) => r.value >= 0 && r.value <= 1)).toBe(true);
    }
    wv.close();
  });
});
