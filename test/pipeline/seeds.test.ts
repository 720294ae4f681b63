/** Mean ± sample sd over seeds, by hand, and the summary files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMetric, meanSd, seedSummary, writeSeedsReport } from '../../lib/pipeline/seeds';
import { tempDir } from '../helpers';

const run = (seed: number, top1: number, H: number) => ({ seed, report: `/r/seed-${seed}`, metrics: { stage2Top1: top1, gzsl: { calibrated: { H }, ausuc: 0.1 * (seed + 1) } } });

describe('seeds', () => {
  const tmp = tempDir('devise-seeds-');
  afterAll(() => tmp.cleanup());

  it('meanSd: sample standard deviation (n − 1)', () => {
    // 2, 4, 6: mean 4, squared deviations 4 + 0 + 4 = 8, / 2 = 4, sd 2.
    expect(meanSd([2, 4, 6])).toEqual({ mean: 4, sd: 2 });
    expect(meanSd([5])).toEqual({ mean: 5, sd: 0 });
  });

  it('summarises the headline metrics every run reported, per seed and as mean ± sd', () => {
    const s = seedSummary([run(0, 0.5, 0.2), run(1, 0.7, 0.4)]);
    expect(s.seeds).toEqual([0, 1]);
    expect(s.metrics.stage2Top1!.values).toEqual([0.5, 0.7]);
    expect(s.metrics.stage2Top1!.mean).toBeCloseTo(0.6, 12);
    expect(s.metrics.stage2Top1!.sd).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(s.metrics['gzsl.calibrated.H']!.mean).toBeCloseTo(0.3, 12);
    expect(s.metrics.stage1Accuracy).toBeUndefined(); // not reported by these runs
    expect(formatMetric('gzsl.ausuc', 0.15)).toBe('0.150');
    expect(formatMetric('stage2Top1', 0.6)).toBe('60.0%');
  });

  it('writes summary.json and an index.html linking each seed', () => {
    const dir = path.join(tmp.dir, 'out');
    writeSeedsReport(dir, [run(0, 0.5, 0.2), run(1, 0.7, 0.4)].map((r) => ({ ...r, report: path.join(dir, `seed-${r.seed}`) })));
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary.reports).toEqual(['seed-0', 'seed-1']);
    const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
    expect(html).toContain('href="seed-1/index.html"');
    expect(html).toMatch(/60\.0% ± 14\.1%/);
  });
});
