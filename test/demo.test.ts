/** The main job end to end: `npm run demo -- --quick` on data_samples/, its metrics and its report in a real browser. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers';
import { launchChromium } from './notebooks/jupyter';

describe('npm run demo -- --quick', { timeout: 900_000 }, () => {
  const tmp = tempDir('devise-demo-');
  afterAll(() => tmp.cleanup());
  const out = path.join(tmp.dir, 'report');

  it('runs the pipeline on data_samples/ and writes metrics.json with finite numbers', () => {
    const run = spawnSync('npm', ['run', '-s', 'demo', '--', '--quick', '--json', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 840_000 });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const printed = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as Record<string, any>;
    expect(printed.report).toBe(out);
    expect(metrics).toMatchObject({ backend: 'wasm', model: 'squeezenet1_1', data: path.join(ROOT, 'data_samples') });
    const numbers = [metrics.stage1Accuracy, metrics.stage2Top1, metrics.stage2Top5, metrics.zeroShotPerClassTop1, metrics.gzsl.u, metrics.gzsl.s, metrics.gzsl.H, metrics.modelSizeMB, metrics.seconds.stage1, metrics.seconds.stage2a, metrics.seconds.stage2b];
    for (const n of numbers) expect(Number.isFinite(n), JSON.stringify(metrics)).toBe(true);
    expect(metrics.modelSizeMB).toBeCloseTo(5.62, 1);
    expect(metrics.classes).toEqual({ seen: 33, unseen: 10 });
    const files = fs.readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['index.html', 'metrics.json', 'PCA_Squeezenet_2a_Epochs1to2.gif', 'figures']));
  });

  it('writes an index.html that loads in headless Chromium without console errors and draws its plots', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${path.join(out, 'index.html')}`);
      await page.waitForFunction('document.querySelectorAll(".devise-plot svg.main-svg").length > 0', undefined, { timeout: 60_000 });
      expect(errors).toEqual([]);
      const sections = await page.evaluate('document.querySelectorAll("section").length');
      expect(sections).toBeGreaterThanOrEqual(10);
    } finally {
      await browser.close();
    }
  });
});
