// The AWA2-shaped tree of the scale rehearsal: AWA2's classes in its proportions, its image dimensions, its split;
// photo-like JPEGs that the project's reader and probe accept.
//   npx vitest run test/scale/awa2-tree.test.ts --maxWorkers 1
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { recipeHours } from '../../bench/awa2';
import { AWA2_CLASS_COUNTS, AWA2_STANDARD_TEST, awa2Counts, makeAwa2Tree } from '../../bench/support/awa2-tree';
import { readAwa2 } from '../../lib/data/awa2';
import { settleReadable } from '../../lib/data/readable';
import { SHARED, tempDir } from '../helpers';

const tmp = tempDir('devise-awa2-tree-');
afterAll(() => tmp.cleanup());

describe('AWA2-shaped tree', () => {
  it("has AWA2's 50 classes with their real counts (37,322 images) and the standard split", () => {
    expect(AWA2_CLASS_COUNTS).toHaveLength(50);
    expect(AWA2_CLASS_COUNTS.reduce((n, [, c]) => n + c, 0)).toBe(37_322);
    const meta = path.join(SHARED, 'data', 'awa2-meta');
    if (fs.existsSync(meta)) {
      const names = fs.readFileSync(path.join(meta, 'classes.txt'), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/)[1]);
      expect(AWA2_CLASS_COUNTS.map(([n]) => n)).toEqual(names);
      expect(AWA2_STANDARD_TEST.slice().sort()).toEqual(fs.readFileSync(path.join(meta, 'testclasses.txt'), 'utf8').trim().split(/\s+/).sort());
    } else console.log(`skipped the comparison with AWA2's class lists: ${meta} is absent`);
  });

  it('scales the counts in proportion, at least 2 per class, summing to the size asked', () => {
    for (const n of [100, 2000, 5000, 37_322]) {
      const counts = awa2Counts(n);
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(2);
    }
    const full = awa2Counts(37_322);
    for (const [name, c] of AWA2_CLASS_COUNTS) expect(full.get(name)).toBe(c);
    const k = awa2Counts(3732); // a tenth: horse 1,645 → ~165, mole 100 → ~10
    expect(k.get('horse')).toBeGreaterThanOrEqual(163);
    expect(k.get('horse')).toBeLessThanOrEqual(166);
    expect(() => awa2Counts(20)).toThrow(/--images must be a whole number ≥ 100/);
  });

  it('writes photo-like JPEGs of AWA2 dimensions that the reader and the readable-items probe accept; a second call reuses them', async () => {
    const root = path.join(tmp.dir, 'awa2');
    const tree = await makeAwa2Tree(root, { images: 120, scale: 0.2 });
    expect([tree.images, tree.classes]).toEqual([120, 50]);
    const awa = readAwa2(root);
    expect(awa.trainClasses).toHaveLength(40);
    expect(awa.testClasses).toEqual(AWA2_STANDARD_TEST);
    expect(awa.items).toHaveLength(120);
    const { unreadable } = await settleReadable(awa.items, { onBadFile: () => {} });
    expect(unreadable).toEqual([]);
    const sizes = await Promise.all(awa.items.slice(0, 30).map(async (it) => sharp(it.path).metadata()));
    for (const m of sizes) {
      expect(m.format).toBe('jpeg');
      expect(Math.max(m.width!, m.height!)).toBeGreaterThanOrEqual(66); // 0.2 × AWA2's 333..1,500 px
      expect(Math.max(m.width!, m.height!)).toBeLessThanOrEqual(300);
    }
    // Grain makes them compress like photos, not like flat colour (a flat 100×75 JPEG is ~1 kB).
    expect(tree.bytes / tree.images).toBeGreaterThan(2000);
    const again = await makeAwa2Tree(root, { images: 120, scale: 0.2 });
    expect(again.seconds).toBeLessThan(tree.seconds);
  }, 120_000);

  it("the recipe's hours scale inversely with the slower of the model and the loader", () => {
    const h = recipeHours(20, 100);
    expect(recipeHours(10, 100)).toBeCloseTo(2 * h, 6);
    expect(recipeHours(20, 1000)).toBeLessThanOrEqual(h);
    expect(recipeHours(1000, 10)).toBeGreaterThan(h); // the loader is the bottleneck
  });
});
