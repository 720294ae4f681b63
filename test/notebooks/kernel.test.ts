import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeKernelSpec } from '../../utils/kernel';
import { ROOT, tempDir } from '../helpers';

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]> }
const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join('') : v ?? '');

describe('the tslab kernel, for real', () => {
  const tmp = tempDir('devise-kernel-');
  afterAll(() => tmp.cleanup());

  it('executes a notebook that imports lib/ the way notebooks/ do, computes with tfjs and shows HTML', () => {
    const jupyterPath = path.join(tmp.dir, 'jupyter');
    writeKernelSpec(path.join(jupyterPath, 'kernels'));
    const out = path.join(tmp.dir, 'executed.ipynb');
    // Run from notebooks/ so `./lib/index` goes through the committed notebooks/lib symlink.
    const run = spawnSync('/usr/bin/python3', [path.join(ROOT, 'utils', 'execute-notebook.py'), path.join(ROOT, 'test', 'fixtures', 'backend-smoke.ipynb'), out, '--cwd', path.join(ROOT, 'notebooks'), '--timeout', '120'], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_PATH: jupyterPath, PATH: '/usr/bin:/bin' },
      timeout: 240_000,
    });
    expect(run.error, 'Debian python3 with nbclient is required: run `npm run deps`').toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

    const executed = JSON.parse(fs.readFileSync(out, 'utf8')) as { cells: { cell_type: string; outputs?: Output[] }[] };
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    const stdout = outputs.filter((o) => o.name === 'stdout').map((o) => text(o.text)).join('');
    expect(outputs.filter((o) => o.output_type === 'error' || o.name === 'stderr')).toEqual([]);
    expect(stdout).toContain('backend=wasm');
    expect(stdout).toContain('sumOfSquares=30');
    expect(stdout).toContain('bin-on-path=true inherited-path=true');
    const html = outputs.map((o) => text(o.data?.['text/html'])).join('');
    expect(html).toMatch(/<table id="devise-check">.*<td>wasm<\/td>.*<td>30<\/td>/);
  });

  it('notebooks/lib is a committed symlink to ../lib', () => {
    const link = path.join(ROOT, 'notebooks', 'lib');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('../lib');
  });
});
