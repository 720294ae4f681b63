import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { writeKernelSpec } from '../../utils/kernel';
import { ROOT, tempDir } from '../helpers';

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]> }
const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join('') : v ?? '');
const cell = (source: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source });

describe('show() in a real tslab kernel', () => {
  const tmp = tempDir('devise-plots-kernel-');
  afterAll(() => tmp.cleanup());

  it('displays trusted HTML with the static PNG (plotly bundle inlined once per session) and an animated GIF', async () => {
    const nb = {
      nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      cells: [
        cell("import { show } from './lib/plots/display';\nimport { confusionMatrixFigure, lrFinderFigure } from './lib/plots/figures';"),
        cell("const a = await show(confusionMatrixFigure([[41, 12], [13, 42]], ['cat', 'dog']), { width: 400, height: 300 });\nconsole.log(`displayed=${a.displayed} png=${a.png ? a.png.length > 1000 : false}`);"),
        cell("const b = await show(lrFinderFigure([1e-5, 1e-4, 1e-3, 1e-2], [2, 1.5, 1.2, 3], { suggestion: 1e-3 }));\nconsole.log(`displayed=${b.displayed}`);"),
        cell("import { showGif } from './lib/plots/display';\nimport { figureGif } from './lib/plots/gif';\nimport { pcaScatterFigure } from './lib/plots/figures';\nconst frames = [0, 1, 2].map((e) => ({ name: `epoch ${e + 1}`, points: [[e, 0], [0, e], [1, 1]], labels: [0, 1, 1] }));\nconsole.log(`gif=${showGif(await figureGif(pcaScatterFigure(['cow', 'ox'], frames), { width: 200, height: 160 }))}`);"),
      ],
    };
    const input = path.join(tmp.dir, 'show.ipynb');
    const out = path.join(tmp.dir, 'executed.ipynb');
    fs.writeFileSync(input, JSON.stringify(nb));
    const jupyterPath = path.join(tmp.dir, 'jupyter');
    writeKernelSpec(path.join(jupyterPath, 'kernels'));
    // From notebooks/, so './lib/...' goes through the committed notebooks/lib symlink as in the project's notebooks.
    const run = spawnSync('/usr/bin/python3', [path.join(ROOT, 'utils', 'execute-notebook.py'), input, out, '--cwd', path.join(ROOT, 'notebooks'), '--timeout', '120'], {
      encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: jupyterPath }, timeout: 240_000,
    });
    expect(run.error, 'Debian python3 with nbclient is required: run `npm run deps`').toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const executed = JSON.parse(fs.readFileSync(out, 'utf8')) as { cells: { outputs?: Output[] }[] };
    const [, first, second, third] = executed.cells.map((c) => c.outputs ?? []);
    const html = (outs: Output[]) => outs.map((o) => text(o.data?.['text/html'])).join('');
    const stdout = (outs: Output[]) => outs.filter((o) => o.name === 'stdout').map((o) => text(o.text)).join('');
    expect(executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === 'error' || o.name === 'stderr')).toEqual([]);
    expect(stdout(first)).toContain('displayed=true png=true');
    expect(stdout(second)).toContain('displayed=true');
    expect(html(first)).toContain('plotly.js v4');
    expect(html(first)).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/]{1000}/);
    expect(html(first)).not.toMatch(/<script[^>]+src=/); // inlined, not fetched
    expect(html(second)).not.toContain('plotly.js v4');
    expect(html(second)).not.toMatch(/https?:/); // later figures only wait for the first one's bundle
    expect(html(second)).toContain('Learning rate finder');
    expect(stdout(third)).toContain('gif=true');
    const gif = Buffer.from(text(third.find((o) => o.data?.['image/gif'])?.data?.['image/gif']), 'base64');
    expect((await sharp(gif, { pages: -1 }).metadata()).pages).toBe(3);
  });
});
