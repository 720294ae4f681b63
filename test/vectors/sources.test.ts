/** The shipped label sources and weights: real files, the same bytes as ../shared, every AWA2 class embeddable. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readClassList } from '../../lib/data/awa2';
import { findPretrained, pretrainedTable, ROOT as LIB_ROOT } from '../../lib/settings';
import { labelSource } from '../../lib/vectors/sources';
import { ROOT, SHARED } from '../helpers';

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const AWA2 = readClassList(path.join(ROOT, 'data_samples', 'classes.txt'));

describe('shipped word vectors and weights', () => {
  it.skipIf(!fs.existsSync(SHARED))('are byte-identical copies of the files in ../shared, each with its license', () => {
    const pairs = [
      ['models/wordvectors/awa2-classes-googlenews-word2vec-300d.vec', 'data/wordvectors/awa2-classes-googlenews-word2vec-300d.vec'],
      ['models/wordvectors/awa2-classes-googlenews-word2vec-300d.labels.tsv', 'data/wordvectors/awa2-classes-googlenews-word2vec-300d.labels.tsv'],
      ['models/wordvectors/glove6b-50d-concrete-nouns.vec', 'data/wordvectors/glove6b-50d-concrete-nouns.vec'],
      ['models/keras-squeezenet/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5', 'weights/keras-squeezenet/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5'],
    ];
    for (const [mine, theirs] of pairs) expect(sha(path.join(ROOT, mine!)), mine).toBe(sha(path.join(SHARED, theirs!)));
    for (const f of ['models/wordvectors/LICENSE-awa2-classes-googlenews-word2vec', 'models/wordvectors/LICENSE-glove6b-50d-concrete-nouns', 'models/keras-squeezenet/LICENSE', 'models/wordvectors/README.md', 'models/keras-squeezenet/README.md']) {
      expect(fs.existsSync(path.join(ROOT, f)), f).toBe(true);
    }
  });

  it('the shipped Keras file matches its pretrained.json sha256 and is what findPretrained picks without downloads', () => {
    const entry = pretrainedTable()['keras-squeezenet1_1-notop']!;
    expect(sha(path.join(LIB_ROOT, entry.shipped!))).toBe(entry.sha256);
    const downloaded = Object.values(pretrainedTable()).filter((e) => e.arch === 'squeezenet1_1').some((e) => fs.existsSync(path.join(LIB_ROOT, 'models', 'pretrained', e.file)));
    if (!downloaded) expect(findPretrained('squeezenet1_1')).toBe(path.join(LIB_ROOT, entry.shipped!));
    expect(findPretrained('resnet34') === null || findPretrained('resnet34')!.includes(path.join('models', 'pretrained'))).toBe(true);
  });

  it("word2vec (the default) embeds all 50 AWA2 classes with real 300-d vectors; phrase tokens and the label map's aliases", async () => {
    const src = await labelSource('word2vec');
    const emb = src.embed(AWA2);
    expect(emb.dim).toBe(300);
    expect(emb.how[AWA2.indexOf('grizzly+bear')]).toBe('phrase:Grizzly_bear');
    expect(emb.how[AWA2.indexOf('persian+cat')]).toBe('alias:longhaired_cat');
    // Unit length, and real geometry: a tiger is nearer a leopard than a humpback whale.
    const v = (c: string) => emb.vectors.subarray(AWA2.indexOf(c) * 300, (AWA2.indexOf(c) + 1) * 300);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(cos(v('tiger'), v('tiger'))).toBeCloseTo(1, 5);
    expect(cos(v('tiger'), v('leopard'))).toBeGreaterThan(cos(v('tiger'), v('humpback+whale')));
  });

  it('glove answers free-text nouns beyond the classes, and names the classes it cannot embed', async () => {
    const src = await labelSource('glove');
    expect(src.embed(['horse', 'car', 'zebra']).dim).toBe(50);
    expect(() => src.embed(['dalmatian', 'horse'])).toThrow(/dalmatian/);
  });

  it('attributes without AWA2 metadata: a message naming the files it needs', async () => {
    await expect(labelSource('attributes', { awa2Meta: path.join(ROOT, 'data_samples') })).rejects.toThrow(/predicate-matrix-continuous\.txt/);
  });
});
