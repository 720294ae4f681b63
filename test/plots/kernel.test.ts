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

describe('show(x) in a real tslab kernel', () => {
  const tmp = tempDir('devise-plots-kernel-');
  afterAll(() => tmp.cleanup());

  it('show(x): a figure as plotly JSON + PNG (no HTML, no script), a data frame and records as tables, a GIF; a cell ending in show prints nothing', async () => {
    const nb = {
      nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      cells: [
        cell("import { show } from './lib/plots/display';\nimport { confusionMatrixFigure, lrFinderFigure, pcaScatterFigure } from './lib/plots/figures';\nimport { figureGif } from './lib/plots/gif';"),
        cell("await show(confusionMatrixFigure([[41, 12], [13, 42]], ['cat', 'dog']), { width: 400, height: 300 });"),
        cell("await show([{ class: 'cow', valid: 3, share: 0.123456 }]);\nawait show('<b>bold</b>');"),
        cell("const frames = [0, 1, 2].map((e) => ({ name: `epoch ${e + 1}`, points: [[e, 0], [0, e], [1, 1]], labels: [0, 1, 1] }));\nawait show(await figureGif(pcaScatterFigure(['cow', 'ox'], frames), { width: 200, height: 160 }));"),
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
    const [, fig, tables, anim] = executed.cells.map((c) => c.outputs ?? []);
    expect(executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === 'error' || o.name === 'stderr' || o.name === 'stdout' || o.output_type === 'execute_result')).toEqual([]);
    expect(fig).toHaveLength(1);
    expect(Object.keys(fig[0]!.data!).sort()).toEqual(['application/vnd.plotly.v1+json', 'image/png', 'text/plain']);
    const plotly = fig[0]!.data!['application/vnd.plotly.v1+json'] as unknown as { data: { type: string }[]; layout: { width: number } };
    expect(plotly.data[0]!.type).toBe('heatmap');
    expect(plotly.layout.width).toBe(400);
    expect((await sharp(Buffer.from(text(fig[0]!.data!['image/png']), 'base64')).metadata()).width).toBe(400);
    expect(text(tables[0]!.data!['text/html'])).toMatch(/<th>class<\/th>.*<td>cow<\/td><td>3<\/td><td>0\.1235<\/td>/);
    expect(text(tables[1]!.data!['text/html'])).toBe('<b>bold</b>');
    const gif = Buffer.from(text(anim.find((o) => o.data?.['image/gif'])?.data?.['image/gif']), 'base64');
    expect((await sharp(gif, { pages: -1 }).metadata()).pages).toBe(3);
  });
});
