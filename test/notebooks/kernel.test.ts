import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNEL_NAME } from '../../utils/kernel';
import { labArgs, labExecutable } from '../../utils/lab';
import { ROOT, tempDir } from '../helpers';
import { executeNotebook, joinText, launchChromium, outputsOf, privateJupyterPath, runAllInBrowser, startNotebookServer } from './jupyter';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'backend-smoke.ipynb');

function servedDir(): string {
  fs.mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
  return fs.mkdtempSync(path.join(ROOT, '.cache', 'nbserve-'));
}

describe('the tslab kernel, for real', () => {
  const tmp = tempDir('devise-kernel-');
  afterAll(() => tmp.cleanup());

  it('executes a notebook that imports lib/ the way notebooks/ do, computes with tfjs and shows HTML', () => {
    const out = path.join(tmp.dir, 'executed.ipynb');
    // Run from notebooks/ so `./lib/index` goes through the committed notebooks/lib symlink.
    const run = executeNotebook(FIXTURE, out, { cwd: path.join(ROOT, 'notebooks'), jupyterPath: privateJupyterPath(tmp.dir), env: { PATH: '/usr/bin:/bin' }, timeoutS: 120 });
    expect(run.status, run.log).toBe(0);

    const outputs = outputsOf(run.executed!);
    const stdout = outputs.filter((o) => o.name === 'stdout').map((o) => joinText(o.text)).join('');
    expect(outputs.filter((o) => o.output_type === 'error' || o.name === 'stderr')).toEqual([]);
    expect(stdout).toContain('backend=wasm');
    expect(stdout).toContain('sumOfSquares=30');
    expect(stdout).toContain('bin-on-path=true inherited-path=true');
    const html = outputs.map((o) => joinText(o.data?.['text/html'])).join('');
    expect(html).toMatch(/<table id="devise-check">.*<td>wasm<\/td>.*<td>30<\/td>/);
  });

  it('runs the same notebook in classic Notebook driven by headless Chromium', async () => {
    // A copy beside a `lib` link, so the browser's autosave never touches committed files; it lives
    // inside the checkout because the kernel's TypeScript finds packages by walking up to node_modules.
    const served = servedDir();
    fs.copyFileSync(FIXTURE, path.join(served, 'smoke.ipynb'));
    fs.symlinkSync(path.join(ROOT, 'lib'), path.join(served, 'lib'));
    const server = await startNotebookServer(served, privateJupyterPath(tmp.dir));
    const browser = await launchChromium();
    try {
      const run = await runAllInBrowser(browser, server.url, 'smoke.ipynb', 120_000);
      expect(run.errors).toEqual([]);
      expect(run.stderr).toEqual([]);
      expect(run.html).toMatch(/<table id="devise-check">.*wasm.*30/s);
    } finally {
      await browser.close();
      await server.stop();
      fs.rmSync(served, { recursive: true, force: true });
    }
  });

  it("npm run kernel registers 'devise-ts' beside a user's own tslab kernelspec without touching it", () => {
    const kernels = path.join(tmp.dir, 'kernels');
    const users = path.join(kernels, 'tslab', 'kernel.json');
    fs.mkdirSync(path.dirname(users), { recursive: true });
    const theirs = JSON.stringify({ argv: ['/home/someone/tslab', 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript', language: 'typescript' });
    fs.writeFileSync(users, theirs);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils', 'kernel.ts'), '--dir', kernels], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(users, 'utf8')).toBe(theirs);
    const ours = JSON.parse(fs.readFileSync(path.join(kernels, KERNEL_NAME, 'kernel.json'), 'utf8')) as { display_name: string; argv: string[] };
    expect(KERNEL_NAME).toBe('devise-ts');
    expect(ours.display_name).toBe('TypeScript (devise-ts)');
    expect(ours.argv[1]).toBe(path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'));
    expect(fs.readdirSync(kernels).sort()).toEqual(['devise-ts', 'tslab']);
  });

  it('npm run lab says how to get JupyterLab when the venv is missing, and passes --port/--no-browser to Jupyter', () => {
    expect(() => labExecutable(path.join(tmp.dir, 'no-venv'))).toThrow(/JupyterLab is not installed in .*no-venv/);
    const args = labArgs({ port: 9123, token: 't0k', openBrowser: false });
    expect(args).toEqual(expect.arrayContaining(['--ip=127.0.0.1', '--port=9123', '--no-browser', '--IdentityProvider.token=t0k', `--ServerApp.root_dir=${path.join(ROOT, 'notebooks')}`, '--MultiKernelManager.default_kernel_name=devise-ts']));
    expect(labArgs({ port: 1, token: 't' })).not.toContain('--no-browser');
  });

  it('notebooks/lib is a committed symlink to ../lib', () => {
    const link = path.join(ROOT, 'notebooks', 'lib');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('../lib');
  });
});
