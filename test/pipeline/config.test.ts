import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deviseConfig, envPath } from '../../lib/pipeline/config';
import { DEFAULT_PHASES } from '../../lib/train/recipe';
import { ROOT, tempDir } from '../helpers';

describe('deviseConfig', () => {
  const tmp = tempDir('devise-config-');
  afterAll(() => tmp.cleanup());

  it('relative DEVISE_* paths start where the user started (PWD, which a notebook kernel inherits), else the repo root', () => {
    fs.mkdirSync(path.join(tmp.dir, 'awa2'));
    const env = { PWD: tmp.dir, HOME: '/home/u' };
    expect(deviseConfig({}, { ...env, DEVISE_DATA: 'awa2' }).data).toBe(path.join(tmp.dir, 'awa2'));
    expect(deviseConfig({}, { ...env, DEVISE_DATA: 'data_samples' }).data).toBe(path.join(ROOT, 'data_samples')); // only in the repo
    expect(deviseConfig({}, { ...env, DEVISE_LABELS: 'vecs/crawl-300d-2M.vec' }).labels).toBe(path.join(tmp.dir, 'vecs', 'crawl-300d-2M.vec'));
    expect(deviseConfig({}, { ...env, DEVISE_LABELS: 'wordnet' }).labels).toBe('wordnet'); // a source name, not a path
    expect(envPath('~/x.vec', env)).toBe('/home/u/x.vec');
    expect(deviseConfig({}, { ...env, DEVISE_OUT: 'runs/a' }).out).toBe(path.join(tmp.dir, 'runs', 'a'));
  });

  it("the recipe's defaults are the original's 4,2,5,3, from one table", () => {
    const e = deviseConfig({}, {}).epochs;
    expect(Object.values(e)).toEqual([4, 2, 5, 3]);
    expect(e).toEqual({ stage1: DEFAULT_PHASES.stage1.epochs, stage1Unfrozen: DEFAULT_PHASES.stage1Unfrozen.epochs, stage2a: DEFAULT_PHASES.stage2a.epochs, stage2b: DEFAULT_PHASES.stage2b.epochs });
  });
});
