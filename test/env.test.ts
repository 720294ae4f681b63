/**
 * One environment module (lib/env.ts): nothing else in lib/, utils/, bench/ or web/ reads `process.env`; every
 * DEVISE_* variable the code or the notebooks mention is in its table; bad values name the variable; one path rule.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { env, ENV_VARIABLES, userPath } from '../lib/env';
import { ROOT, tempDir } from './helpers';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'build' ? [] : sourceFiles(p);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

const PRODUCT = ['lib', 'utils', 'bench', 'web/src', 'notebooks'].flatMap((d) => sourceFiles(path.join(ROOT, d)))
  .concat(fs.readdirSync(path.join(ROOT, 'web')).filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, 'web', f)));

describe('the environment', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('is read by lib/env.ts alone (a quoted name, e.g. an esbuild define, is not a read)', () => {
    const readers = PRODUCT.filter((f) => !f.endsWith(path.join('lib', 'env.ts')) && /(?<!['"])\bprocess\.env\b/.test(fs.readFileSync(f, 'utf8')));
    expect(readers.map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  it('names in its table every DEVISE_* variable the product code and the notebooks mention', () => {
    const known = new Set(ENV_VARIABLES.map((v) => v.name));
    const texts = PRODUCT.map((f) => fs.readFileSync(f, 'utf8'));
    const mentioned = new Set(texts.flatMap((t) => [...t.matchAll(/\bDEVISE_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0])));
    // Not variables: the app's browser globals (window.DEVISE_…) and the addon's error code.
    const browserGlobals = new Set(texts.flatMap((t) => [...t.matchAll(/window\.(DEVISE_\w+)/g)].map((m) => m[1])));
    const unknown = [...mentioned].filter((n) => !known.has(n) && !browserGlobals.has(n) && n !== 'DEVISE_NATIVE_NOT_BUILT');
    expect(unknown).toEqual([]);
  });

  it('parses each value once per read, and a bad one names its variable', () => {
    vi.stubEnv('DEVISE_SIZE', '112');
    vi.stubEnv('DEVISE_EPOCHS', '1,0,2,1');
    vi.stubEnv('DEVISE_SMOKE', '1');
    vi.stubEnv('DEVISE_WEIGHTS', 'none');
    expect([env.size, env.epochs, env.smoke, env.weights]).toEqual([112, [1, 0, 2, 1], true, null]);
    vi.stubEnv('DEVISE_SIZE', '');
    expect(env.size).toBeUndefined(); // empty is unset
    vi.stubEnv('DEVISE_THREADS', 'two');
    expect(() => env.threads).toThrow(/DEVISE_THREADS='two' must be a whole number ≥ 1/);
    vi.stubEnv('DEVISE_SPLIT', 'mine');
    expect(() => env.split).toThrow(/DEVISE_SPLIT='mine' must be one of: standard, proposed/);
  });

  it('has one path rule: ~/ is home; relative starts where the user started (PWD), else the repo root when only there', () => {
    const tmp = tempDir('devise-env-');
    try {
      fs.mkdirSync(path.join(tmp.dir, 'awa2'));
      vi.stubEnv('PWD', tmp.dir);
      vi.stubEnv('INIT_CWD', '');
      expect(userPath('~/x.vec')).toBe(path.join(os.homedir(), 'x.vec'));
      expect(userPath('awa2')).toBe(path.join(tmp.dir, 'awa2'));
      expect(userPath('data_samples')).toBe(path.join(ROOT, 'data_samples')); // exists only in the repo
      expect(userPath('runs/a')).toBe(path.join(tmp.dir, 'runs', 'a')); // exists nowhere: where the user is
      vi.stubEnv('DEVISE_LABELS', 'vecs/crawl.vec');
      expect(env.labels).toBe(path.join(tmp.dir, 'vecs', 'crawl.vec'));
      vi.stubEnv('DEVISE_LABELS', 'wordnet');
      expect(env.labels).toBe('wordnet'); // a source name, not a path
    } finally {
      tmp.cleanup();
    }
  });
});
