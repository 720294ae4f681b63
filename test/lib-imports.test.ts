import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers';

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('lib/ import rules', () => {
  const files = tsFiles(path.join(ROOT, 'lib'));
  const relImports = (file: string) =>
    [...fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']*)'/g)].map((m) => m[1]!);

  it('imports files, never folders (tslab resolves a local import X only as X.ts)', () => {
    const folderImports = files.flatMap((f) =>
      relImports(f).filter((spec) => fs.existsSync(path.resolve(path.dirname(f), spec)) && fs.statSync(path.resolve(path.dirname(f), spec)).isDirectory()).map((spec) => `${path.relative(ROOT, f)}: '${spec}'`),
    );
    expect(folderImports).toEqual([]);
  });

  it('never imports from notebooks/, utils/, bench/ or test/', () => {
    const outward = files.flatMap((f) =>
      relImports(f).filter((spec) => /^(notebooks|utils|bench|test)(\/|$)/.test(path.relative(ROOT, path.resolve(path.dirname(f), spec)))).map((spec) => `${path.relative(ROOT, f)}: '${spec}'`),
    );
    expect(outward).toEqual([]);
  });
});
