/** Small builders for the label tests: an in-memory `WordVectors` from a word → values record. */
import { memoryVectors, type WordVectors } from '../../lib/vectors/vec';
export { labelWords, phraseCandidates, readLabelMap, wordVectorSource } from '../../lib/vectors/labels';

export function memoryVectorsFor(rows: Record<string, number[]>): WordVectors {
  const tokens = Object.keys(rows);
  const dim = rows[tokens[0]!]!.length;
  return memoryVectors(tokens, Float32Array.from(tokens.flatMap((t) => rows[t]!)), dim);
}
