/** AWA2's two zero-shot splits: the dataset's standard one and Xian et al.'s proposed one (unseen ∉ ImageNet-1k). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWA2_PROPOSED_UNSEEN, readAwa2 } from '../../lib/data/awa2';
import { ROOT, SHARED } from '../helpers';

const SAMPLES = path.join(ROOT, 'data_samples');
const META = path.join(SHARED, 'data', 'awa2-meta');

describe('AWA2 splits', () => {
  it.skipIf(!fs.existsSync(META))('the proposed unseen classes are those of the real proposed-split/testclasses.txt', () => {
    const real = fs.readFileSync(path.join(META, 'proposed-split', 'testclasses.txt'), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    expect([...AWA2_PROPOSED_UNSEEN].sort()).toEqual(real.sort());
  });

  it('standard: trainclasses.txt / testclasses.txt as given', () => {
    const awa = readAwa2(SAMPLES);
    expect(awa.testClasses).toContain('chimpanzee');
    expect(awa.trainClasses).toContain('horse');
  });

  it('proposed: the proposed unseen classes present in the root are unseen, every other listed class is seen', () => {
    const std = readAwa2(SAMPLES);
    const awa = readAwa2(SAMPLES, { split: 'proposed' });
    const listed = new Set([...std.trainClasses, ...std.testClasses]);
    expect(awa.testClasses).toEqual(AWA2_PROPOSED_UNSEEN.filter((c) => listed.has(c)));
    expect(awa.testClasses).toContain('horse');
    expect(awa.trainClasses).toContain('chimpanzee');
    expect(new Set([...awa.trainClasses, ...awa.testClasses])).toEqual(listed);
    expect(awa.trainClasses.filter((c) => awa.testClasses.includes(c))).toEqual([]);
    // Items follow the split: every horse image is a test (unseen) item.
    expect(awa.items.filter((it) => it.label === 'horse').every((it) => it.split === 'test')).toBe(true);
  });
});
