/**
 * Progress display: the terminal renderer's lines, and in a real tslab kernel (nbclient) one display
 * updated in place whose saved final state is the fastai-style epoch table.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProgress, formatTime } from '../../lib/train/progress';
import { ROOT, tempDir } from '../helpers';
import { executeNotebook, joinText, outputsOf, privateJupyterPath, servedFolder, tinyFitCell } from '../notebooks/jupyter';

const tmp = tempDir('devise-progress-');
afterAll(() => tmp.cleanup());

describe('progress', () => {
  it('terminal: header (metrics under fastai\'s names) and one line per epoch on a non-TTY stream; outside tslab auto = terminal', () => {
    expect(formatTime(75)).toBe('01:15');
    expect(formatTime(3725)).toBe('1:02:05');
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => (writes.push(s), true);
    try {
      const p = createProgress('auto');
      p.begin({ epochs: 2, totalIterations: 4, metricNames: ['accuracy', 'errorRate', 'nearestLabelTop5'] });
      p.batch(2, 1.5);
      p.epoch({ epoch: 0, trainLoss: 1.5, validLoss: 1.2, metrics: { accuracy: 0.5, errorRate: 0.5, nearestLabelTop5: 0.75 }, seconds: 3 });
      p.end('stopped: test');
    } finally {
      (process.stderr as unknown as { write: typeof orig }).write = orig;
    }
    const text = writes.join('');
    expect(text).toMatch(/epoch\s+train_loss\s+valid_loss\s+accuracy\s+error_rate\s+nearest_label_top5\s+time/);
    expect(text).toMatch(/\n1\s+1\.5000\s+1\.2000\s+0\.5000\s+0\.5000\s+0\.7500\s+00:03/); // epoch 0 printed as 1 (fastai v1), 4 decimals
    expect(text).toContain('stopped: test');
    expect(() => createProgress('notebook')).toThrow(/tslab kernel/);
  });

  it('tslab: one display updated in place; nbclient saves the final table', () => {
    const served = servedFolder('progress-');
    const source = tinyFitCell();
    const nb = {
      cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source }],
      metadata: { kernelspec: { name: 'devise-ts', display_name: 'TypeScript (devise-ts)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    fs.writeFileSync(path.join(served, 'progress.ipynb'), JSON.stringify(nb));
    try {
      const run = executeNotebook(path.join(served, 'progress.ipynb'), path.join(tmp.dir, 'out.ipynb'), { cwd: served, jupyterPath: privateJupyterPath(tmp.dir), env: { PATH: '/usr/bin:/bin' }, timeoutS: 120 });
      const outputs = run.executed ? outputsOf(run.executed) : [];
      expect(run.status, `${run.log}\n${JSON.stringify(outputs).slice(0, 3000)}`).toBe(0);
      expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
      const displays = outputs.filter((o) => o.data?.['text/html'] !== undefined);
      expect(displays).toHaveLength(1); // updated in place, not appended
      const html = joinText(displays[0]!.data!['text/html']);
      expect(html).toMatch(/<th>epoch<\/th><th>train_loss<\/th><th>valid_loss<\/th><th>accuracy<\/th><th>time<\/th>/);
      expect(html.match(/<tr><td>/g)).toHaveLength(3);
      expect(html).toMatch(/<tr><td>1<\/td>[\s\S]*<tr><td>3<\/td>/); // numbered from 1, as fastai v1
      expect(html).toContain('<div>lr 1.0e-1</div>'); // the fit's rate heads its table
      // The plain-text form is the same table as text (nbconvert, GitHub), not a placeholder, under the fit's rate.
      expect(joinText(displays[0]!.data!['text/plain'] as string | string[])).toMatch(/^lr 1\.0e-1\nepoch\s+train_loss\s+valid_loss\s+accuracy\s+time\n1\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\d:\d\d\n2\s[\s\S]*\n3\s/);
      expect(html).not.toContain('<progress'); // the final state replaces the bar
    } finally {
      fs.rmSync(served, { recursive: true, force: true });
    }
  });
});

describe('interrupt in a real tslab kernel', () => {
  it("the kernel's interrupt (SIGINT) stops the loop at the next batch and writes a checkpoint", () => {
    const served = servedFolder('interrupt-');
    try {
      const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'test', 'train', 'fixtures', 'interrupt-kernel.py'), served], {
        encoding: 'utf8',
        env: { ...process.env, JUPYTER_PATH: privateJupyterPath(tmp.dir), PATH: '/usr/bin:/bin' },
        timeout: 180_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { fitError: string | null; first: { batches: number; checkpoint: boolean }; second: { batches: number } };
      expect(res.first.batches).toBeGreaterThan(0);
      expect(res.first.batches).toBeLessThan(4 * 1000);
      expect(res.second.batches).toBe(res.first.batches); // the loop really stopped, not just the awaited promise
      expect(res.first.checkpoint).toBe(true);
    } finally {
      fs.rmSync(served, { recursive: true, force: true });
    }
  });
});
