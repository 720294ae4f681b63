import { BruteforceSearch } from 'hnswlib-node';
import { describe, expect, it } from 'vitest';
import { ImageIndex } from '../../lib/search';

// 40k iid random 300-d points have no neighbourhood structure (all distances concentrate), the hardest case for HNSW:
// recall@10 is ~0.2 at ef=64 and needs ef in the thousands (0.988 at ef=3000 here, M=16, efConstruction=100). Real embeddings have
// low intrinsic dimension (a 16-d latent reaches 0.998 at ef=64; see `npm run bench -- search --latent 16`).
describe('HNSW recall vs hnswlib BruteforceSearch', () => {
  it('recall@10 ≥ 0.99 on 40k random 300-d points', () => {
    const N = 40_000;
    const D = 300;
    let x = 7;
    const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
    const data = new Float32Array(N * D).map(rnd);
    const index = new ImageIndex(D, { M: 16, efConstruction: 100, ef: 4000, seed: 100 });
    index.add(data, Array.from({ length: N }, (_, i) => ({ label: `p${i}` })));
    const brute = new BruteforceSearch('cosine', D);
    brute.initIndex(N);
    for (let i = 0; i < N; i++) brute.addPoint(Array.from(data.subarray(i * D, (i + 1) * D)), i);
    const queries = Array.from({ length: 100 }, () => Array.from({ length: D }, rnd));
    let found = 0;
    for (const q of queries) {
      const truth = new Set(brute.searchKnn(q, 10).neighbors);
      const hits = index.imageToImage(q, 10);
      expect(hits).toHaveLength(10);
      found += hits.filter((h) => truth.has(h.id)).length;
    }
    expect(found / 1000).toBeGreaterThanOrEqual(0.99);
  }, 300_000);
});
