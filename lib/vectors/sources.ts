/**
 * Label sources by name: the word vectors shipped in `models/wordvectors/` (`word2vec`, the default, and `glove`),
 * GloVe-100 for 341k words once downloaded (`glove100`: `npm run vectors -- download glove-100d`), WordNet hierarchy
 * embeddings (`wordnet`), AWA2's attributes (`attributes`), or any `.vec` file by path.
 *
 *   const src = await labelSource('word2vec');                 // 300-d GoogleNews vectors of the 50 AWA2 classes
 *   const big = await labelSource('~/crawl-300d-2M.vec');      // fastText, as the original project
 *   LABEL_SOURCES.glove.description
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayPath, MODELS_DIR } from '../settings';
import { attributeSource } from './attributes';
import { openGlove100 } from './glove100';
import { type LabelSource, readLabelMap, wordVectorSource } from './labels';
import { memoryVectors, openVectors, readVec } from './vec';
import { AWA2_WORDNET, wordnetSource } from './wordnet';

/** What a named source is, for people (tables, notebook prose). */
export interface NamedSource {
  description: string;
  /** True for real word vectors (the DeViSE setting): any word in the vocabulary can be searched. */
  wordVectors: boolean;
}

const VECTORS = path.join(MODELS_DIR, 'wordvectors');

/** The label sources this project knows by name. */
export const LABEL_SOURCES = {
  word2vec: { description: 'GoogleNews word2vec, 300-d, the 50 AWA2 class names (shipped)', wordVectors: true },
  glove: { description: 'GloVe 6B, 50-d, 3,091 concrete nouns (shipped)', wordVectors: true },
  glove100: { description: 'GloVe 6B, 100-d, 341,479 words (npm run vectors -- download glove-100d)', wordVectors: true },
  wordnet: { description: 'WordNet hierarchy embedding (not word vectors)', wordVectors: false },
  attributes: { description: "AWA2's 85 class attributes", wordVectors: false },
} satisfies Record<string, NamedSource>;

export type LabelSourceName = keyof typeof LABEL_SOURCES;

/** The default label space: real word vectors, as the original project and the DeViSE paper. */
export const DEFAULT_LABELS: LabelSourceName = 'word2vec';

/** Small `.vec` files read into memory (no cache file written beside the shipped copies). */
async function shippedVectors(file: string, name: string, aliasFile?: string): Promise<LabelSource> {
  const v = await readVec(path.join(VECTORS, file));
  return wordVectorSource(memoryVectors(v.tokens, v.vectors, v.dim), { name, aliases: aliasFile ? readLabelMap(path.join(VECTORS, aliasFile)) : undefined });
}

export interface LabelSourceOptions {
  /** AWA2 metadata folder (predicate matrix) for `attributes`. */
  awa2Meta?: string;
  /** Seed of the WordNet embedding. */
  seed?: number;
}

/** The label source named `spec` (a name of LABEL_SOURCES or a `.vec`/`.dvv` path). */
export async function labelSource(spec: string, opts: LabelSourceOptions = {}): Promise<LabelSource> {
  switch (spec) {
    case 'word2vec':
      return shippedVectors('awa2-classes-googlenews-word2vec-300d.vec', 'word2vec', 'awa2-classes-googlenews-word2vec-300d.labels.tsv');
    case 'glove':
      return shippedVectors('glove6b-50d-concrete-nouns.vec', 'glove');
    case 'glove100':
      return wordVectorSource(openGlove100(), { name: 'glove100' });
    case 'wordnet':
      return wordnetSource({ ...AWA2_WORDNET, seed: opts.seed ?? 0 });
    case 'attributes':
      if (!opts.awa2Meta || !fs.existsSync(path.join(opts.awa2Meta, 'predicate-matrix-continuous.txt'))) {
        throw new Error(`needs AWA2's predicates.txt and predicate-matrix-continuous.txt in ${opts.awa2Meta ? displayPath(opts.awa2Meta) : 'the AWA2 root'} (they come with the AWA2 download)`);
      }
      return attributeSource(opts.awa2Meta);
    default:
      return wordVectorSource(await openVectors(spec), { name: path.basename(spec) });
  }
}
