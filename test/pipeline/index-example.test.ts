/**
 * The worked example in lib/index.ts's header runs as written (tiny settings through DEVISE_* variables, which the
 * example's deviseConfig reads): stage 1, stage 2a, search indices and the zero-shot verdict, in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers';

const tmp = tempDir('devise-index-example-');
afterAll(() => tmp.cleanup());

/** The lines between `@example` and `@end` of lib/index.ts's header, without the comment's ` *   `. */
function exampleOf(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const block = text.slice(text.indexOf('@example') + '@example'.length, text.indexOf('@end'));
  return block.split('\n').map((l) => l.replace(/^\s*\*( {3})?/, '')).filter((l) => l.trim()).join('\n');
}

describe("lib/index.ts's worked example", { timeout: 600_000 }, () => {
  it('runs as written and prints the zero-shot verdict', () => {
    const code = exampleOf(path.join(ROOT, 'lib', 'index.ts'));
    expect(code).toMatch(/^import \{.*\} from '\.\/lib\/index';/);
    const script = path.join(tmp.dir, 'example.mts');
    // An ES module script (top-level await) that requires the library as the notebooks' CommonJS kernel loads it.
    const imported = code.replace(/^import \{(.*)\} from '\.\/lib\/index';/, (_, names: string) => `import { createRequire } from 'node:module';\nconst {${names}} = createRequire(import.meta.url)(${JSON.stringify(path.join(ROOT, 'lib', 'index.ts'))});`);
    fs.writeFileSync(script, imported);
    const out = path.join(tmp.dir, 'run');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT, encoding: 'utf8', timeout: 540_000,
      env: { ...process.env, DEVISE_SIZE: '32', DEVISE_EPOCHS: '1,0,1,0', DEVISE_OUT: out, DEVISE_THREADS: '1', DEVISE_WASM_THREADS: '1' },
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/zero-shot|unseen/i);
    expect(fs.existsSync(path.join(out, 'run.json'))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'search')).sort()).toEqual(['images', 'labels']);
  });
});
