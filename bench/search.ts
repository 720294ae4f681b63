/**
 * HNSW search benchmark at AWA2's size: builds an `ImageIndex` over 37,322 random 300-d unit vectors, then times
 * 200 queries and measures recall@10 against hnswlib's BruteforceSearch, at `--ef` and over an ef sweep.
 *
 *   npm run bench -- search --json                   # iid random unit vectors (no structure: the worst case)
 *   npm run bench -- search --latent 16 --json       # vectors from a 16-d latent, like real embeddings
 */
import { BruteforceSearch } from 'hnswlib-node';
import { ImageIndex } from '../lib/search';
import { hasFlag, numberFlag, rssMB } from './flags';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const n = numberFlag(argv, 'n', 37_322);
  const dim = numberFlag(argv, 'dim', 300);
  const latent = numberFlag(argv, 'latent', 0);
  const nq = numberFlag(argv, 'queries', 200);
  const M = numberFlag(argv, 'M', 16);
  const efConstruction = numberFlag(argv, 'efConstruction', 100);
  const ef = numberFlag(argv, 'ef', 64);
  let x = 12345;
  const gauss = () => {
    // Box-Muller on a Lehmer generator: seeded, so every run indexes the same points.
    const u = (x = (x * 48271) % 2147483647) / 2147483647;
    const v = (x = (x * 48271) % 2147483647) / 2147483647;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const mix = latent ? Array.from({ length: dim * latent }, gauss) : [];
  const point = (): number[] => {
    let p: number[];
    if (latent) {
      const z = Array.from({ length: latent }, gauss);
      p = Array.from({ length: dim }, (_, i) => z.reduce((s, zj, j) => s + zj * mix[i * latent + j]!, 0));
    } else p = Array.from({ length: dim }, gauss);
    const norm = Math.hypot(...p);
    return p.map((v) => v / norm);
  };
  const data = Array.from({ length: n }, point);
  const queries = Array.from({ length: nq }, point);

  const index = new ImageIndex(dim, { M, efConstruction, ef });
  let t = process.hrtime.bigint();
  index.add(data, data.map((_, i) => ({ label: `img${i}` })));
  const buildSeconds = Number(process.hrtime.bigint() - t) / 1e9;

  const brute = new BruteforceSearch('cosine', dim);
  brute.initIndex(n);
  data.forEach((p, i) => brute.addPoint(p, i));
  t = process.hrtime.bigint();
  const truth = queries.map((q) => new Set(brute.searchKnn(q, 10).neighbors));
  const bruteMs = Number(process.hrtime.bigint() - t) / 1e6 / nq;

  const measure = (efSearch: number) => {
    index.options.ef = efSearch;
    const times: number[] = [];
    let found = 0;
    queries.forEach((q, i) => {
      const t0 = process.hrtime.bigint();
      const hits = index.imageToImage(q, 10);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      found += hits.filter((h) => truth[i]!.has(h.id)).length;
    });
    times.sort((a, b) => a - b);
    return { ef: efSearch, recallAt10: found / (10 * nq), p50Ms: +percentile(times, 0.5).toFixed(3), p99Ms: +percentile(times, 0.99).toFixed(3) };
  };
  const main = measure(ef);
  const sweep = hasFlag(argv, 'no-sweep') ? [] : [256, 1000, 4000].filter((e) => e !== ef).map(measure);
  return {
    n, dim, data: latent ? `${latent}-d latent` : 'iid', M, efConstruction, buildSeconds: +buildSeconds.toFixed(2),
    ...main, bruteForceMsPerQuery: +bruteMs.toFixed(3), sweep, rssMB: rssMB(),
  };
}
