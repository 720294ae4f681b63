/**
 * Label → vector behind one interface (`LabelSource`), whatever the source: word vectors, AWA2 attributes or
 * WordNet. Compound class names (`grizzly+bear`, `persian cat`) resolve by phrase token, mean of words, or alias.
 *
 *   const wv = await openVectors('awa2-classes-googlenews-word2vec-300d.vec');
 *   const src = wordVectorSource(wv, { aliases: readLabelMap('awa2-...-300d.labels.tsv') });
 *   const emb = src.embed(['grizzly+bear', 'persian+cat']);   // throws listing every label it cannot embed
 */
import * as fs from 'node:fs';
import type { WordVectors } from './vec';

/** Class embeddings: row `i` of `vectors` (row-major, `labels.length × dim`) belongs to `labels[i]`. */
export interface LabelEmbeddings {
  labels: string[];
  dim: number;
  vectors: Float32Array;
  /** How each label was resolved, e.g. `phrase:Grizzly_bear`, `mean:persian,cat`, `alias:longhaired_cat`. */
  how: string[];
}

/** Anything that can embed class names (and, for text→image search, arbitrary words). */
export interface LabelSource {
  readonly name: string;
  readonly dim: number;
  /** Embeds every label or throws one error naming all labels it could not embed. */
  embed(labels: string[]): LabelEmbeddings;
}

/** Splits a class name into words: `grizzly+bear`, `grizzly_bear`, `Grizzly Bear` → ['grizzly', 'bear'] (case kept). */
export function labelWords(label: string): string[] {
  return label.trim().split(/[+_\s-]+/).filter(Boolean);
}

const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

/** Phrase-token spellings tried in order: as given, lower, `Grizzly_bear` (word2vec), `Grizzly_Bear`, joined with '-'. */
export function phraseCandidates(label: string): string[] {
  const words = labelWords(label);
  const lower = words.map((w) => w.toLowerCase());
  const c = [label.trim(), words.join('_'), lower.join('_'), [cap(lower[0] ?? ''), ...lower.slice(1)].join('_'), lower.map(cap).join('_'), lower.join('-')];
  return [...new Set(c)].filter(Boolean);
}

/** Reads a two-column TSV (`label<TAB>token`, header optional) such as the shared `*.labels.tsv` into an alias map. */
export function readLabelMap(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  fs.readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const [label, token] = line.split('\t');
    if (!label || !token) throw new Error(`${file}:${i + 1}: expected 'label<TAB>token'`);
    if (i === 0 && /label/i.test(label) && /token|vector/i.test(token)) return;
    out[label.trim()] = token.trim();
  });
  return out;
}

/** Scales each `dim`-long row of `v` to unit length in place (zero rows stay zero). */
export function normalizeRows(v: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < v.length; r += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[r + j]! * v[r + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) v[r + j]! *= inv;
  }
  return v;
}

function lookupWord(wv: WordVectors, word: string): Float32Array | undefined {
  return wv.get(word) ?? wv.get(word.toLowerCase()) ?? wv.get(cap(word.toLowerCase()));
}

/** Resolves one label: phrase token, else the mean of its words, else the alias (a token or a phrase). */
function resolve(wv: WordVectors, label: string, aliases: Record<string, string | string[]>): { v: Float32Array; how: string } | undefined {
  for (const t of phraseCandidates(label)) {
    const v = wv.get(t);
    if (v) return { v, how: `phrase:${t}` };
  }
  const words = labelWords(label);
  const parts = words.map((w) => lookupWord(wv, w));
  if (words.length > 1 && parts.every(Boolean)) {
    const mean = new Float32Array(wv.dim);
    for (const p of parts) for (let j = 0; j < wv.dim; j++) mean[j]! += p![j]! / parts.length;
    return { v: mean, how: `mean:${words.join(',')}` };
  }
  const alias = aliases[label] ?? aliases[label.trim().toLowerCase()];
  for (const a of alias === undefined ? [] : Array.isArray(alias) ? alias : [alias]) {
    const r = a === label ? undefined : resolve(wv, a, {});
    if (r) return { v: r.v, how: `alias:${a}` };
  }
  return undefined;
}

/** A `LabelSource` over word vectors; `normalize` (default true) makes every class vector unit length. */
export function wordVectorSource(
  wv: WordVectors,
  opts: { aliases?: Record<string, string | string[]>; normalize?: boolean; name?: string; /** How the caller's users add an alias (a CLI: its flag). */ aliasHint?: string } = {},
): LabelSource {
  const aliases = opts.aliases ?? {};
  return {
    name: opts.name ?? 'word-vectors',
    dim: wv.dim,
    embed(labels) {
      const vectors = new Float32Array(labels.length * wv.dim);
      const how: string[] = [];
      const missing: string[] = [];
      labels.forEach((label, i) => {
        const r = resolve(wv, label, aliases);
        if (!r) return missing.push(label);
        vectors.set(r.v, i * wv.dim);
        how.push(r.how);
      });
      if (missing.length) {
        throw new Error(`No word vector for ${missing.length} label(s): ${missing.map((m) => `'${m}'`).join(', ')}. ` +
          `Tried phrase tokens (e.g. ${phraseCandidates(missing[0]!).join(', ')}) and the mean of the words; ` +
          `add an alias (${opts.aliasHint ?? '{ aliases: { label: token } }'}) or use a larger vector file.`);
      }
      if (opts.normalize ?? true) normalizeRows(vectors, wv.dim);
      return { labels: [...labels], dim: wv.dim, vectors, how };
    },
  };
}
