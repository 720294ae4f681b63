// The scale rehearsal at a size CI affords: `npm run demo` (what `npm run bench -- awa2` runs) on a generated
// AWA2-shaped tree — AWA2's 50 classes in its proportions, photo-like JPEGs of its shapes — asserting what the full
// 37,322-image run needs: the whole-run estimate before the first epoch ends, memory that does not grow with epochs
// (the same phase's epochs within a few MB; the last epoch against the first within a margin), and a report whose
// size stays under its limits. kill -9 / Ctrl-C + --resume giving the uninterrupted run's numbers is
// test/cli/interrupt.test.ts's (train: kill -9 mid-phase; demo: three interrupts), not repeated here.
//   npx vitest run test/scale/rehearsal.test.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoRun, runDemo } from '../../bench/awa2';
import { makeAwa2Tree } from '../../bench/support/awa2-tree';
import { bytesUnder } from '../../lib/backend/io';
import { ROOT, tempDir } from '../helpers';

const tmp = tempDir('devise-rehearsal-');
afterAll(() => tmp.cleanup());

const IMAGES = 300;
const SIZE = 32;
/** stage 1 frozen, unfrozen, stage 2a, 2b: three 2a epochs, so memory is compared over epochs of one phase. */
const EPOCHS = '1,1,3,1';
/** The report's limits at AWA2's size (issue 25): the report folder, and what a notebook would carry of it. */
const REPORT_MB = 10;
const NOTEBOOK_MB = 2.5;

/** An epoch row of a training table ("2  0.8071  0.7047 …"). */
const EPOCH_ROW = /^\d+\s+-?\d+\.\d+\s+-?\d+\.\d+/;
let demo: DemoRun;
let out: string;

beforeAll(async () => {
  const data = path.join(tmp.dir, 'awa2');
  await makeAwa2Tree(data, { images: IMAGES, scale: 0.15 });
  out = path.join(tmp.dir, 'report');
  demo = await runDemo(data, out, SIZE, () => {}, { env: { DEVISE_EPOCHS: EPOCHS }, pollMs: 100 });
  if (demo.code !== 0) throw new Error(`the demo failed (exit ${demo.code}):\n${demo.lines.slice(-30).map((l) => l.line).join('\n')}`);
  console.log(`[rehearsal] ${IMAGES} images at ${SIZE} px, epochs ${EPOCHS}: ${demo.seconds.toFixed(0)} s, peak RSS ${demo.peakRssMB} MB`);
}, 600_000);

/** The max RSS over (from, to] seconds. */
const peakIn = (from: number, to: number) => Math.max(...demo.rss.filter((r) => r.t > from && r.t <= to).map((r) => r.mb));

describe('scale rehearsal (CI size)', () => {
  it('says the whole run before the first epoch ends', () => {
    const estimate = demo.lines.findIndex((l) => /^estimate: .* s per batch of \d+ .*≈ .* of training left/.test(l.line));
    const firstRow = demo.lines.findIndex((l) => EPOCH_ROW.test(l.line));
    expect(estimate).toBeGreaterThanOrEqual(0);
    expect(firstRow).toBeGreaterThan(estimate);
    expect(demo.lines[estimate]!.line).toMatch(/stage1-frozen .*stage1-unfrozen .*stage2a .*stage2b/);
    // The label-source comparison said its cost before it started.
    expect(demo.lines.some((l) => /^label-source comparison: \d+ sources? × 3 epochs × \d+ images = [\d,]+ training images ≈ .* \(measured on this run's stage 2a\)/.test(l.line))).toBe(true);
  });

  it('memory does not grow with epochs', () => {
    const rows = demo.lines.filter((l) => EPOCH_ROW.test(l.line)).map((l) => l.t);
    expect(rows.length).toBe(1 + 1 + 3 + 1);
    const perEpoch = rows.map((t, i) => peakIn(i ? rows[i - 1]! : 0, t));
    console.log(`[rehearsal] peak RSS per epoch (MB): ${perEpoch.map((m) => m.toFixed(0)).join(', ')}; after the run ${peakIn(rows.at(-1)!, Infinity).toFixed(0)}`);
    // The three epochs of stage 2a (same work): flat within 5 % + 24 MB (allocator noise), not a leak per epoch.
    const [a1, , a3] = perEpoch.slice(2, 5);
    expect(a3!).toBeLessThan(a1! * 1.05 + 24);
    // The last epoch (stage 2b, the whole model trainable) against the first (stage 1, frozen): within 50 %.
    expect(perEpoch.at(-1)!).toBeLessThan(perEpoch[0]! * 1.5);
  });

  it('the report stays under its limits; what a notebook carries of it too', () => {
    const report = bytesUnder(out) - bytesUnder(path.join(out, 'run')) - bytesUnder(path.join(out, 'app'));
    // A notebook holds the same figures, not the report's inlined plotly.js.
    const plotly = fs.statSync(path.join(ROOT, 'node_modules/plotly.js-dist-min/plotly.min.js')).size;
    const figures = fs.statSync(path.join(out, 'index.html')).size - plotly;
    console.log(`[rehearsal] report ${(report / 1e6).toFixed(2)} MB (index.html without plotly.js ${(figures / 1e6).toFixed(2)} MB), app ${(bytesUnder(path.join(out, 'app')) / 1e6).toFixed(2)} MB, checkpoints ${(bytesUnder(path.join(out, 'run', 'models')) / 1e6).toFixed(1)} MB`);
    expect(report).toBeLessThan(REPORT_MB * 1e6);
    expect(figures).toBeGreaterThan(0);
    expect(figures).toBeLessThan(NOTEBOOK_MB * 1e6);
    expect(fs.existsSync(path.join(out, 'metrics.json'))).toBe(true);
  });
});
