/**
 * The notebooks' TypeScript sources and the committed .ipynb files: the converter's percent format, no drift
 * between a source and its notebooks, and what a committed notebook may hold (size, paths, figure formats).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { drift, NOTEBOOKS, parseCells, stampOf } from '../../utils/notebooks';
import { ROOT } from '../helpers';
import { joinText, type NotebookJson } from './jupyter';

const read = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as NotebookJson;

describe('notebook sources', () => {
  it('parses percent format: code and markdown cells, @param lines and {{NAMES}} substituted, the header skipped', () => {
    const src = [
      '// header, not a cell',
      '// %% [markdown]',
      '// # Title {{T}}',
      '//',
      '// text',
      '',
      '// %%',
      "const ARCH = 'a'; // @param ARCH",
      'await f(ARCH);',
      '',
      '// %%',
      'g();',
    ].join('\n');
    expect(parseCells(src, { T: 'X', ARCH: 'resnet34' })).toEqual([
      { cell_type: 'markdown', source: '# Title X\n\ntext' },
      { cell_type: 'code', source: "const ARCH = 'resnet34';\nawait f(ARCH);" },
      { cell_type: 'code', source: 'g();' },
    ]);
    expect(() => parseCells('// %% [markdown]\nnot a comment')).toThrow(/only \/\/ comment lines/);
    expect(() => parseCells("// %%\nconst a = 'x'; // @param NOPE")).toThrow(/No value for @param NOPE/);
  });

  it('every committed notebook matches its source (edit the .nb.ts file, then `npm run notebooks -- build`)', () => {
    for (const spec of NOTEBOOKS) {
      const nb = read(spec.out);
      expect(drift(spec, nb as never), spec.out).toEqual([]);
      expect(joinText(nb.cells[0]!.source)).toContain(stampOf(spec));
    }
    // The check itself catches an edit made in Jupyter.
    const nb = read(NOTEBOOKS[0]!.out);
    const edited = { ...nb, cells: nb.cells.map((c, i) => (i === 3 ? { ...c, source: `${joinText(c.source)}\n// edited in Jupyter` } : c)) };
    expect(drift(NOTEBOOKS[0]!, edited as never)[0]).toMatch(/cell 4/);
  });

  it('the sources type-check (tsc -p notebooks, top-level await, ./lib through the symlink)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', path.join(ROOT, 'notebooks')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('committed notebooks: under 2.5 MB, no machine paths, every figure as plotly JSON + PNG, no plotly bundle or script', () => {
    for (const spec of NOTEBOOKS) {
      const file = path.join(ROOT, spec.out);
      const text = fs.readFileSync(file, 'utf8');
      expect(fs.statSync(file).size, spec.out).toBeLessThan(2.5e6);
      expect(text, `${spec.out} holds a machine path`).not.toMatch(/\/(work|home|root|tmp|Users)\/[\w.-]+\//);
      expect(text).not.toContain('<script');
      const outputs = read(spec.out).cells.flatMap((c) => c.outputs ?? []);
      for (const o of outputs.filter((x) => x.data?.['application/vnd.plotly.v1+json'])) expect(Object.keys(o.data!)).toContain('image/png');
    }
  });
});
