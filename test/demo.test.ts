/**
 * The main job end to end, as a fresh clone without ../shared runs it: `npm run demo` with the defaults on
 * data_samples/ (shipped Keras SqueezeNet weights, shipped word2vec vectors), its metrics, the project's claim
 * (calibrated GZSL H > 0, zero-shot above chance) and its report in a real browser. With `--objectives` (about 30 s
 * more on an idle 2-core machine): the embedding objectives compared on the run's own stage-1 features.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LABEL_SOURCES } from '../lib/vectors/sources';
import { ROOT, tempDir } from './helpers';
import { launchChromium } from './notebooks/jupyter';

describe('npm run demo (defaults, ../shared hidden)', { timeout: 1_500_000 }, () => {
  const tmp = tempDir('devise-demo-');
  afterAll(() => tmp.cleanup());
  const out = path.join(tmp.dir, 'report');
  const emptyShared = path.join(tmp.dir, 'no-shared');
  fs.mkdirSync(emptyShared);
  let metrics: Record<string, any>;

  it('trains from the shipped pretrained weights against the shipped word vectors, with no random-init warning', () => {
    const run = spawnSync('npm', ['run', '-s', 'demo', '--', '--json', '--objectives', '--out', out], {
      cwd: ROOT, encoding: 'utf8', timeout: 1_440_000, env: { ...process.env, DEVISE_SHARED: emptyShared },
    });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    expect(run.stderr).not.toMatch(/RANDOM initialisation|random init/i);
    const printed = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as Record<string, any>;
    expect(printed.report).toBe(out);
    expect(metrics).toMatchObject({
      seed: 0, model: 'squeezenet1_1', data: 'data_samples', labels: 'word2vec', split: 'standard',
      pretrained: 'models/keras-squeezenet/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5',
      classes: { seen: 33, unseen: 10 }, epochs: { stage1: 4, stage1Unfrozen: 2, stage2a: 5, stage2b: 3 },
    });
    expect(metrics.lr.stage1).toBeGreaterThan(0);
    expect(metrics.lr.stage2a).toBeGreaterThan(0);
    expect(metrics.modelSizeMB).toBeCloseTo(5.62, 1);
    // Counts are the images each number is over: s over the 33 valid images (10 %: one per seen class), u over the 55 unseen ones.
    expect(metrics.gzsl.n).toEqual({ s: 33, u: 55 });
    // Accuracies are exact fractions of images: top-1 × 38 is a whole number.
    expect(Math.abs(metrics.stage2Top1 * 33 - Math.round(metrics.stage2Top1 * 33))).toBeLessThan(1e-9);
    expect(Object.keys(metrics.zeroShotPerClass).sort()).toEqual(['chimpanzee', 'giant+panda', 'hippopotamus', 'humpback+whale', 'leopard', 'persian+cat', 'pig', 'raccoon', 'rat', 'seal']);
    const sources = Object.fromEntries((metrics.labelSources as { source: string; unavailable?: string }[]).map((r) => [r.source, r]));
    expect(Object.keys(sources)).toEqual(Object.keys(LABEL_SOURCES)); // every known source, unavailable ones with the reason
    expect(sources.attributes.unavailable).toMatch(/predicate-matrix-continuous\.txt/);
    expect(sources.glove.unavailable).toMatch(/^no vector for \d+ of the 43 classes \(/);
    expect(fs.readdirSync(out)).toEqual(expect.arrayContaining(['index.html', 'metrics.json', 'PCA_Squeezenet_2a_Epochs1to5.gif', 'figures']));
  });

  it('--objectives: one entry per objective in metrics.json, null where an objective cannot produce a number', () => {
    const o = metrics.objectives as Record<string, Record<string, number | string | null>>;
    expect(Object.keys(o)).toEqual(['cosine', 'hinge', 'triplet', 'hybrid', 'eszsl', 'ale']);
    for (const [name, m] of Object.entries(o)) {
      for (const k of ['seenTop1', 'recallAt1', 'recallAt5', 'mAP', 'seconds']) expect(m[k], `${name}.${k}`).toBeGreaterThanOrEqual(0);
      expect(m.seenTop1Method).toBe(name === 'triplet' ? 'knn' : 'nearest-label');
      if (name === 'triplet') {
        // No label vectors: no zero-shot, no GZSL.
        expect(m.zeroShotPerClassTop1).toBeNull();
        expect(m.calibratedH).toBeNull();
      } else {
        expect(m.zeroShotPerClassTop1, name).toBeGreaterThanOrEqual(0);
        expect(m.calibratedH, name).toBeGreaterThanOrEqual(0);
      }
    }
    expect(metrics.objectivesSetup).toMatchObject({ seed: 0, epochs: 10 });
  });

  it('the claim: zero-shot per-class top-1 above chance and calibrated GZSL H > 0', () => {
    expect(metrics.zeroShotPerClassTop1).toBeGreaterThan(metrics.zeroShotChance);
    expect(metrics.zeroShotChance).toBeCloseTo(0.1, 12);
    expect(metrics.gzsl.calibrated.H).toBeGreaterThan(0);
    expect(metrics.gzsl.calibrated.gamma).toBeGreaterThan(0);
    // The verdict says in words what the numbers mean (u = 0 without calibration is stated when it happens).
    const verdict = (metrics.verdict as string[]).join('\n');
    expect(verdict).toMatch(/Calibrated stacking \(γ = [\d.]+, chosen on the seen validation images only\)/);
    if (metrics.gzsl.u === 0) expect(verdict).toMatch(/u = 0, so H = 0/);
  });

  it('writes an index.html that loads in headless Chromium without console errors and states the zero-shot verdict', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${path.join(out, 'index.html')}`);
      await page.waitForFunction('document.querySelectorAll(".devise-plot svg.main-svg").length > 0', undefined, { timeout: 60_000 });
      expect(errors).toEqual([]);
      const text = (await page.evaluate('document.body.innerText')) as string;
      expect(text).toMatch(/GZSL calibrated u \/ s \/ H/);
      expect(text).toMatch(/What the zero-shot numbers say/);
      expect(text).toMatch(/seed\s+0/);
      expect(text).toMatch(/which embedding objective\?[\s\S]*triplet\s+[\d.]+ \(kNN\)\s+no zero-shot/);
    } finally {
      await browser.close();
    }
  });
});
