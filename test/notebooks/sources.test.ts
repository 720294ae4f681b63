/**
 * The notebooks' TypeScript sources and the committed .ipynb files: the converter's percent format, no drift
 * between a source and its notebooks, what a committed notebook may hold (size, paths, figure formats), files
 * written exactly as nbformat writes them (Debian's python3-nbformat is the oracle), and `pull`/`check`/`build`
 * keeping an edit made in Jupyter.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build, cellsOf, drift, nbformatText, NOTEBOOKS, type NotebookSpec, parseCells, pull, readNotebook, stampOf, syncState, variantSource, writeNotebook } from '../../utils/notebooks';
import { KERNEL_NAME } from '../../utils/kernel';
import { ROOT, tempDir } from '../helpers';
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

  it("the sources, and each notebook's variant of them (its @param values substituted), type-check with the tests' TypeScript and with the one the kernel runs (tslab's bundled 5.0): top-level await, ./lib through the symlink", () => {
    // A value substituted per notebook can break a cell the source's own value type-checks (a '' literal narrowed
    // to never stopped the ResNet-50 notebook after 35 minutes), so every variant is checked as its kernel sees it.
    // Inside the repository, so that the lib/ symlink's imports find node_modules as the notebooks' do.
    fs.mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
    const dir = fs.mkdtempSync(path.join(ROOT, '.cache', 'notebook-variants-'));
    fs.symlinkSync(path.join(ROOT, 'notebooks', 'lib'), path.join(dir, 'lib'));
    const variants = NOTEBOOKS.filter((s) => Object.keys(s.vars).length).map((spec) => {
      const file = `${path.basename(spec.out, '.ipynb')}.nb.ts`;
      fs.writeFileSync(path.join(dir, file), variantSource(spec));
      return file;
    });
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: path.join(ROOT, 'notebooks', 'tsconfig.json'), include: variants }));
    try {
      for (const tsc of [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), path.join(ROOT, 'node_modules', '@tslab', 'typescript-for-tslab', 'bin', 'tsc')]) {
        for (const project of [path.join(ROOT, 'notebooks'), dir]) {
          const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8' });
          expect(r.stdout + r.stderr, `${tsc} -p ${project}`).toBe('');
          expect(r.status).toBe(0);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 480_000);

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

/** The notebook text Debian's nbformat writes for `file` (read + write, as JupyterLab's save does). */
function nbformatWrite(file: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import nbformat,sys; nbformat.write(nbformat.read(sys.argv[1], 4), sys.stdout)', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.stderr).toBe('');
  return r.stdout;
}

describe('notebook files as nbformat writes them', () => {
  const tmp = tempDir('devise-nbformat-');
  afterAll(() => tmp.cleanup());

  it('every committed notebook is byte-identical to its nbformat.write, with the devise-ts kernel and tslab\'s language_info', () => {
    for (const spec of NOTEBOOKS) {
      const file = path.join(ROOT, spec.out);
      expect(fs.readFileSync(file, 'utf8') === nbformatWrite(file), `${spec.out} is not in nbformat's form (npm run notebooks -- build)`).toBe(true);
      const meta = read(spec.out).metadata as { kernelspec: { name: string }; language_info: Record<string, unknown> };
      expect(meta.kernelspec.name).toBe(KERNEL_NAME);
      // What tslab 1.0.22's kernel_info reply says (node_modules/tslab/dist/jupyter.js): JupyterLab writes it on connect.
      expect(meta.language_info).toEqual({ codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true }, file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript', version: '3.7.2' });
    }
  });

  it('nbformatText matches nbformat on awkward content: floats, non-ASCII, control characters, every line break Python knows', () => {
    const nb = {
      nbformat: 4, nbformat_minor: 5,
      metadata: { zeta: 1, alpha: { b: [], a: {} }, signature: 'dropped', orig_nbformat: 3 },
      cells: [
        { cell_type: 'markdown', id: 'm', metadata: { trusted: true }, source: 'Ünïcode — 数字 😀\r\nCRLF\rCR\u2028LS\u000bVT\u001cFS\u0085NEL\ntab\there "quoted" \\ \u0001 \u007f' },
        {
          cell_type: 'code', id: 'c', metadata: {}, execution_count: 3, source: 'x = 1\n',
          outputs: [
            { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
            { output_type: 'display_data', metadata: {}, data: { 'text/plain': 'p\nq', 'image/png': 'iVBOR\nw0=\n', 'image/svg+xml': '<svg>\n</svg>', 'application/vnd.plotly.v1+json': { data: [{ y: [1e-7, 0.0001, 0.00001, 1.5e-300, 123456789.125, 1e16, 1e21, 2.5e22, -0.5, 3, 1e300] }], layout: { text: 'line\nbreak' } } } },
            { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['l1', 'l2'] },
          ],
        },
      ],
    };
    const file = path.join(tmp.dir, 'awkward.ipynb');
    fs.writeFileSync(file, JSON.stringify(nb));
    expect(nbformatText(nb as never)).toBe(nbformatWrite(file));
  });
});

describe('pull, check and build: an edit made in Jupyter is never lost', () => {
  const tmp = tempDir('devise-pull-');
  afterAll(() => tmp.cleanup());
  const source = path.join(tmp.dir, 'demo.nb.ts');
  const SOURCE = [
    '// Source of a test notebook (header, not a cell).',
    '',
    '// %% [markdown]',
    '// # Title {{TITLE}}',
    '//',
    '// intro',
    '',
    '// %%',
    "const ARCH = 'a'; // @param ARCH",
    'console.log(ARCH);',
    '',
    '// %% [markdown]',
    '',
    '// %%',
    'const lr = 1e-3;',
    '',
    '// %% [markdown]',
    '// ## Results for {{TITLE}}',
    '',
    '// %%',
    'console.log(lr);',
    '',
  ].join('\n');
  const spec: NotebookSpec = { source, out: path.join(tmp.dir, 'demo.ipynb'), vars: { TITLE: 'SqueezeNet 1.1', ARCH: 'squeezenet1_1' } };
  /** Edits a built notebook the way a JupyterLab save leaves it (cells replaced by `edit`, nbformat's form). */
  const editNotebook = (edit: (cells: { cell_type: string; source: string }[]) => { cell_type: string; source: string }[]) => {
    const nb = readNotebook(spec.out);
    const cells = edit(cellsOf(nb)).map((c, i) => ({ cell_type: c.cell_type, id: `e${i}`, metadata: {}, source: c.source, ...(c.cell_type === 'code' ? { outputs: [], execution_count: null } : {}) }));
    writeNotebook(spec.out, { ...nb, cells } as never);
  };

  it('pull writes edited, added and deleted cells back ({{NAMES}} and @param lines restored); build then leaves them; check says which side is newer', () => {
    fs.writeFileSync(source, SOURCE);
    build(spec);
    expect(syncState(spec, readNotebook(spec.out))).toBe('in sync');
    expect(cellsOf(readNotebook(spec.out))[1]!.source).toBe("const ARCH = 'squeezenet1_1';\nconsole.log(ARCH);");
    editNotebook((cells) => [
      { ...cells[0]!, source: cells[0]!.source.replace('intro', 'intro, edited in Lab') },
      { ...cells[1]!, source: `${cells[1]!.source}\nconsole.log('more');` },
      { cell_type: 'code', source: 'const lr = 3e-4; // changed in Lab' },
      { cell_type: 'markdown', source: 'A new note about SqueezeNet 1.1.' },
      cells[3]!,
      // the last cell deleted
    ]);
    expect(syncState(spec, readNotebook(spec.out))).toBe('notebook edited');
    expect(() => build(spec)).toThrow(/holds edits that are not in .*not overwritten/);
    expect(pull(spec)).toContain(source);
    expect(fs.readFileSync(source, 'utf8')).toBe([
      '// Source of a test notebook (header, not a cell).',
      '',
      '// %% [markdown]',
      '// # Title {{TITLE}}',
      '//',
      '// intro, edited in Lab',
      '',
      '// %%',
      "const ARCH = 'a'; // @param ARCH",
      'console.log(ARCH);',
      "console.log('more');",
      '',
      '// %% [markdown]',
      '',
      '// %%',
      'const lr = 3e-4; // changed in Lab',
      '',
      '// %% [markdown]',
      '// A new note about SqueezeNet 1.1.',
      '',
      '// %% [markdown]',
      '// ## Results for {{TITLE}}',
      '',
    ].join('\n'));
    expect(syncState(spec, readNotebook(spec.out))).toBe('in sync');
    const before = fs.readFileSync(spec.out, 'utf8');
    expect(build(spec).changed).toBe(false);
    expect(fs.readFileSync(spec.out, 'utf8')).toBe(before);
    // A source edited since the build: check says build, and build takes it.
    fs.appendFileSync(source, '// %%\nconsole.log(1);\n');
    expect(syncState(spec, readNotebook(spec.out))).toBe('source edited');
    // Both edited: pull refuses and names the cells.
    editNotebook((cells) => cells.slice(0, -1));
    expect(syncState(spec, readNotebook(spec.out))).toBe('both edited');
    expect(() => pull(spec)).toThrow(/both changed since the last build/);
  });

  it('an edited @param line is refused with one message naming the line', () => {
    fs.writeFileSync(source, SOURCE);
    build(spec, { force: true });
    editNotebook((cells) => cells.map((c, i) => (i === 1 ? { ...c, source: "const ARCH = 'resnet34';\nconsole.log(ARCH);" } : c)));
    expect(() => pull(spec)).toThrow(/`const ARCH = 'a'; \/\/ @param ARCH` of the source is filled in per notebook/);
    expect(fs.readFileSync(source, 'utf8')).toBe(SOURCE);
  });
});
