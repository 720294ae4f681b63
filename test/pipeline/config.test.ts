import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../lib/defaults';
import { deviseConfig } from '../../lib/pipeline/config';
import { DEFAULT_PHASES } from '../../lib/train/recipe';
import { ROOT, tempDir } from '../helpers';

/** Sets variables for one test; afterEach puts the old values back. */
const saved: Record<string, string | undefined> = {};
function setVars(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in saved)) saved[k] = process.env[k];
    process.env[k] = v;
  }
}

describe('deviseConfig', () => {
  const tmp = tempDir('devise-config-');
  afterAll(() => tmp.cleanup());
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      delete saved[k];
    }
  });

  it('relative DEVISE_* paths start where the user started (PWD, which a notebook kernel inherits), else the repo root', () => {
    fs.mkdirSync(path.join(tmp.dir, 'awa2'));
    setVars({ PWD: tmp.dir, INIT_CWD: tmp.dir });
    setVars({ DEVISE_DATA: 'awa2' });
    expect(deviseConfig().data).toBe(path.join(tmp.dir, 'awa2'));
    setVars({ DEVISE_DATA: 'data_samples' });
    expect(deviseConfig().data).toBe(path.join(ROOT, 'data_samples')); // only in the repo
    setVars({ DEVISE_LABELS: 'vecs/crawl-300d-2M.vec' });
    expect(deviseConfig().labels).toBe(path.join(tmp.dir, 'vecs', 'crawl-300d-2M.vec'));
    setVars({ DEVISE_LABELS: 'wordnet' });
    expect(deviseConfig().labels).toBe('wordnet'); // a source name, not a path
    setVars({ DEVISE_OUT: 'runs/a' });
    expect(deviseConfig().out).toBe(path.join(tmp.dir, 'runs', 'a'));
  });

  it("the recipe's defaults are the original's 4,2,5,3 and the data's 224 px, batch 16, from one table", () => {
    for (const k of ['DEVISE_EPOCHS', 'DEVISE_SMOKE', 'DEVISE_SIZE', 'DEVISE_BS', 'DEVISE_SEED']) setVars({ [k]: '' });
    const cfg = deviseConfig();
    expect(Object.values(cfg.epochs)).toEqual([4, 2, 5, 3]);
    expect(cfg.epochs).toEqual({ stage1: DEFAULT_PHASES.stage1.epochs, stage1Unfrozen: DEFAULT_PHASES.stage1Unfrozen.epochs, stage2a: DEFAULT_PHASES.stage2a.epochs, stage2b: DEFAULT_PHASES.stage2b.epochs });
    expect(cfg.epochs).toEqual(DEFAULTS.epochs);
    expect([cfg.size, cfg.bs, cfg.validPct, cfg.seed, cfg.lrFindIterations]).toEqual([224, 16, 0.1, 0, 100]);
    const smoke = deviseConfig({ smoke: true });
    expect([smoke.size, smoke.lrFindIterations, smoke.epochs]).toEqual([DEFAULTS.smoke.data.size, DEFAULTS.smoke.lrFindIterations, DEFAULTS.smoke.epochs]);
  });
});
