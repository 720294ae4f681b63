/**
 * `npm run compare` as a user runs it, tiny: SqueezeNet 1.1 over two seeds on the first 10 real photos per class of
 * ../shared's tiny-imagenet-awa2 at 32 px, epochs 1,0,1,0, open vocabulary over the 3 unseen AWA2 classes plus two
 * extra animals (a temporary folder of links to ../shared's photos). Checks the JSON's shape, that each number is the
 * mean and sample sd of its runs, that a second run skips the finished runs, the table-only mode, one clear line for
 * an unknown model; and the verdict's rule (higher, tie within one sd, lower) on rows built here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TINY_IMAGENET_ANIMALS } from '../../lib/data/tiny-imagenet';
import { comparisonVerdict, type ModelComparison, type ModelComparisonRow } from '../../lib/pipeline/compare';
import { GLOVE_100D_CACHE } from '../../lib/vectors/glove100';
import { tempDir, TINY_IMAGENET } from '../helpers';
import { npmRun } from './run';

const have = fs.existsSync(TINY_IMAGENET.awa2) && fs.existsSync(TINY_IMAGENET.animals) && fs.existsSync(GLOVE_100D_CACHE);
if (!have) console.warn(`Skipping the npm run compare test: ${TINY_IMAGENET.awa2}, ${TINY_IMAGENET.animals} or ${GLOVE_100D_CACHE} is missing (npm run data -- tiny-imagenet, npm run vectors -- download glove-100d).`);

const tmp = tempDir('devise-compare-');
afterAll(() => tmp.cleanup());

/** Two extra animal classes, 10 photos each, as links (photos stay in ../shared). */
function animals(): string {
  const root = path.join(tmp.dir, 'animals');
  for (const { label } of TINY_IMAGENET_ANIMALS.slice(0, 2)) {
    fs.mkdirSync(path.join(root, label), { recursive: true });
    for (const f of fs.readdirSync(path.join(TINY_IMAGENET.animals, label)).sort().slice(0, 10)) fs.symlinkSync(path.join(TINY_IMAGENET.animals, label, f), path.join(root, label, f));
  }
  return root;
}

const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sdOf = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - meanOf(xs)) ** 2, 0) / (xs.length - 1));

describe.skipIf(!have)('npm run compare (tiny, real photos)', () => {
  const out = path.join(tmp.dir, 'compare');
  const args = ['--models', 'squeezenet1_1', '--seeds', '2', '--per-class', '10', '--size', '32', '--epochs', '1,0,1,0', '--lr-find-iterations', '12', '--animals', animals(), '--out', out, '--json'];

  it('writes one row of mean ± sd over two seeds, with every number', () => {
    const r = npmRun('compare', args);
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as ModelComparison;
    expect(c.rows).toHaveLength(1);
    const row = c.rows[0]!;
    expect(row.model).toBe('squeezenet1_1');
    expect(row.seeds).toEqual([0, 1]);
    expect(c.runs.map((x) => x.seed)).toEqual([0, 1]);
    for (const s of [row.stage1Accuracy, row.stage2Top1, row.stage2Top5, row.zeroShotPerClassTop1, row.gzsl.uncalibrated.H, row.gzsl.calibrated.u, row.gzsl.calibrated.s, row.gzsl.calibrated.H, row.ausuc, row.openVocabularyTop1!, row.sizeBytes.fp32, row.sizeBytes.uint8, row.trainImgPerSec, row.inferMsPerImage]) {
      expect(Object.keys(s).sort()).toEqual(['mean', 'sd']);
      expect(Number.isFinite(s.mean) && Number.isFinite(s.sd)).toBe(true);
    }
    // mean and sample sd of the two runs' own numbers
    const z = c.runs.map((x) => x.zeroShotPerClassTop1);
    expect(row.zeroShotPerClassTop1.mean).toBeCloseTo(meanOf(z), 12);
    expect(row.zeroShotPerClassTop1.sd).toBeCloseTo(sdOf(z), 12);
    const t = c.runs.map((x) => x.trainImgPerSec);
    expect(row.trainImgPerSec.mean).toBeCloseTo(meanOf(t), 9);
    expect(row.trainImgPerSec.sd).toBeCloseTo(sdOf(t), 9);
    // the two seeds are different runs (split, head, augmentation)
    expect(c.runs[0]!.stage2Top1 !== c.runs[1]!.stage2Top1 || c.runs[0]!.zeroShotPerClassTop1 !== c.runs[1]!.zeroShotPerClassTop1 || c.runs[0]!.trainImgPerSec !== c.runs[1]!.trainImgPerSec).toBe(true);
    // uint8 is about a quarter of fp32; open vocabulary over 3 AWA2 unseen + 2 animals
    expect(row.sizeBytes.uint8.mean).toBeLessThan(0.4 * row.sizeBytes.fp32.mean);
    expect(c.chance.openVocabulary).toBeCloseTo(1 / 5, 12);
    expect(c.runs[0]!.counts.openVocabulary).toBe(3 * 10 + 2 * 10);
    expect(fs.readFileSync(path.join(out, 'compare.md'), 'utf8')).toContain('zero-shot per-class top-1');
  }, 600_000);

  it('skips finished runs on a second call, and --table only writes the table', () => {
    const again = npmRun('compare', args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('2 finished');
    expect(again.stderr).not.toContain('=== squeezenet1_1');
    const first = JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8')) as ModelComparison;
    expect((JSON.parse(again.stdout) as ModelComparison).rows).toEqual(first.rows);
    // resnet50 never ran here: --table lists it as not run and leaves it out of the rows
    const table = npmRun('compare', ['--models', 'squeezenet1_1,resnet50', '--seeds', '2', '--out', out, '--per-class', '10', '--size', '32', '--epochs', '1,0,1,0', '--lr-find-iterations', '12', '--table', '--json']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stderr).toContain('2 not run (table only)');
    expect((JSON.parse(table.stdout) as ModelComparison).rows.map((r) => r.model)).toEqual(['squeezenet1_1']);
  }, 300_000);
});

describe('npm run compare errors', () => {
  it('names an unknown model in one line', () => {
    const r = npmRun('compare', ['--models', 'squeezenet1_1,resnet51', '--out', path.join(tmp.dir, 'bad')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown model 'resnet51'/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(fs.existsSync(path.join(tmp.dir, 'bad'))).toBe(false);
  });
});

describe('the verdict', () => {
  const stat = (mean: number, sd = 0) => ({ mean, sd });
  const row = (model: 'squeezenet1_1' | 'resnet50', acc: number, sd: number, mb: number): ModelComparisonRow => ({
    model, seeds: [0, 1, 2], stage1Accuracy: stat(acc, sd), stage2Top1: stat(acc, sd), stage2Top5: stat(acc, sd), zeroShotPerClassTop1: stat(acc, sd),
    gzsl: { uncalibrated: { u: stat(0.1), s: stat(0.5), H: stat(0.2) }, calibrated: { u: stat(0.3), s: stat(0.4), H: stat(0.25) } },
    ausuc: stat(0.2), openVocabularyTop1: stat(0.1), sizeBytes: { fp32: stat(mb * 1e6), uint8: stat(mb * 2.5e5) }, trainImgPerSec: stat(10), inferMsPerImage: stat(mb),
  });
  const chance = { stage1: 0.1, zeroShot: 1 / 3, openVocabulary: 1 / 23 };

  it('says the conclusion holds when the small model is within one sd, and not when it is lower by more', () => {
    const tie = comparisonVerdict([row('squeezenet1_1', 0.6, 0.05, 5), row('resnet50', 0.64, 0.02, 95)], chance);
    expect(tie[0]).toMatch(/conclusion holds/);
    expect(tie.join('\n')).toMatch(/a tie/);
    expect(tie[0]).toContain(`${((100 * 5) / 95).toFixed(1)} % of the size`);
    const lower = comparisonVerdict([row('squeezenet1_1', 0.5, 0.02, 5), row('resnet50', 0.64, 0.02, 95)], chance);
    expect(lower[0]).toMatch(/does NOT hold/);
    expect(lower.join('\n')).toMatch(/lower by 14\.0 points/);
    expect(lower.join('\n')).toMatch(/ImageNet/);
    expect(lower[0]).toMatch(/× the inference speed/);
    // Runs timed at different thread counts (or not recorded): no speed ratio is claimed.
    const unequal = comparisonVerdict([row('squeezenet1_1', 0.5, 0.02, 5), row('resnet50', 0.64, 0.02, 95)], chance, false);
    expect(unequal[0]).not.toMatch(/× the inference speed/);
    expect(unequal[0]).toMatch(/inference speeds not compared/);
  });
});
