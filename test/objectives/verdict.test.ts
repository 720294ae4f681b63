/**
 * The objectives comparison in words and as a table, from constructed numbers: the best objective and those within one
 * sd of it, chance named, triplet's missing zero-shot said in words rather than as a number.
 */
import { describe, expect, it } from 'vitest';
import { objectivesTable, objectivesVerdict, type ObjectivesComparison } from '../../lib/objectives';

const row = (seen: number, zs: number | null, r1: number, method = 'nearest-label') => ({ seenTop1: seen, seenTop1Method: method, zeroShotPerClassTop1: zs, openVocabularyTop1: zs === null ? null : zs / 4, calibratedH: zs, ausuc: zs, recallAt1: r1, recallAt5: r1, mAP: r1, seconds: 1 });
const sdRow = (zs: number | null, r1: number) => ({ seenTop1: 0.01, zeroShotPerClassTop1: zs, openVocabularyTop1: zs, calibratedH: zs, ausuc: zs, recallAt1: r1, recallAt5: r1, mAP: r1, seconds: 0 });
const cmp: Pick<ObjectivesComparison, 'objectives' | 'objectivesSd'> = {
  objectives: { cosine: row(0.5, 0.44, 0.32), hinge: row(0.49, 0.40, 0.35), triplet: row(0.53, null, 0.37, 'knn'), hybrid: row(0.53, 0.43, 0.31), eszsl: null, ale: row(0.55, 0.30, 0.3) },
  objectivesSd: { cosine: sdRow(0.01, 0.01), hinge: sdRow(0.02, 0.01), triplet: sdRow(null, 0.01), hybrid: sdRow(0.02, 0.01), ale: sdRow(0.01, 0.01) },
};

describe('objectivesVerdict', () => {
  it('names the best objective per use, the ties within one sd, chance, and who cannot do zero-shot', () => {
    const lines = objectivesVerdict(cmp, { zeroShot: 1 / 3, openVocabulary: 1 / 23 });
    // cosine 44.0 leads; hybrid 43.0 is within hybrid's sd (2.0); hinge 40.0 is not (4.0 > 2.0); ALE 30.0 is not.
    // Retrieval: triplet 37.0 leads; hinge 35.0 is 2.0 behind, outside both sds (1.0).
    expect(lines[0]).toBe('For zero-shot (unseen classes named by their label vectors) use cosine (44.0 %), tied within one sd with hybrid (43.0 %); chance is 33.3 %.');
    expect(lines[1]).toMatch(/^For an open vocabulary .* use cosine \(11\.0 %\).*chance is 4\.3 %\.$/);
    expect(lines[2]).toBe('For image → image retrieval among known classes use triplet (37.0 %) by recall@1, which cannot do zero-shot (no label vectors).');
    expect(lines[3]).toMatch(/^triplet: no zero-shot/);
  });

  it('says when the best is no better than chance', () => {
    const low = { ...cmp, objectives: { ...cmp.objectives, cosine: row(0.5, 0.34, 0.32), hybrid: row(0.5, 0.2, 0.3), hinge: null, ale: null } };
    expect(objectivesVerdict(low, { zeroShot: 1 / 3 })[0]).toMatch(/use cosine \(34\.0 %\); chance is 33\.3 %, so none is clearly better than guessing\.$/);
  });

  it('the table: one row per objective run, mean ± sd, "no zero-shot" in words for triplet', () => {
    const ran = Object.fromEntries(Object.entries(cmp.objectives).filter(([, m]) => m)) as Record<string, Record<string, number | null | string>>;
    const table = objectivesTable(ran, cmp.objectivesSd as Record<string, Record<string, number | null>>).split('\n');
    expect(table).toHaveLength(2 + 5);
    expect(table[0]).toContain('| open vocabulary top-1 % |');
    expect(table.find((l) => l.startsWith('| triplet |'))).toMatch(/^\| triplet \| 53\.0 ± 1\.0 \(kNN\) \| no zero-shot \(no label vectors\) \| no zero-shot \| — \| — \| 37\.0 ± 1\.0 \|/);
    expect(objectivesTable(ran, null)).toMatch(/\| cosine \| 50\.0 \(nearest label\) \| 44\.0 \|/); // one seed: no ± 0.0
  });
});
