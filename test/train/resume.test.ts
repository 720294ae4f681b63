/**
 * Faults across processes: a training child killed (SIGKILL) and resumed reproduces the uninterrupted
 * run; SIGINT stops at the next batch with a checkpoint written; a checkpoint killed mid-write never
 * damages the previous one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { ROOT, tempDir } from '../helpers';

const CHILD = path.join(ROOT, 'test', 'train', 'fixtures', 'child.ts');
const tmp = tempDir('devise-resume-');
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tmp.cleanup());

interface Run { proc: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string; err: string }> }

function start(mode: string, dir: string): Run {
  // node --import tsx (not the tsx CLI, which runs the script in a grandchild a kill would not reach).
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, out, err })));
  return { proc, done };
}

const result = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as { stopped: string | null; epochs: number; validLoss: number; losses: number; sum: number };

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function position(dir: string): { epoch: number; batch: number } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'models', 'run', 'state.json'), 'utf8')).position;
  } catch {
    return undefined;
  }
}

describe('kill, interrupt and resume', () => {
  it('SIGKILL after epoch 2, then resume: same final loss as the uninterrupted run; SIGINT stops at the next batch', async () => {
    const base = path.join(tmp.dir, 'base');
    const killed = path.join(tmp.dir, 'killed');
    const interrupted = path.join(tmp.dir, 'interrupted');
    const ref = result((await start('train', base).done).out);
    expect(ref.epochs).toBe(5);

    const k = start('train', killed);
    await waitFor(() => (position(killed)?.epoch ?? 0) >= 2, 'the epoch-2 checkpoint');
    k.proc.kill('SIGKILL');
    expect((await k.done).signal).toBe('SIGKILL');
    const resumed = result((await start('resume', killed).done).out);
    expect(resumed.losses).toBe(ref.losses);
    expect(resumed.validLoss).toBeCloseTo(ref.validLoss, 5);
    expect(resumed.sum).toBeCloseTo(ref.sum, 3);

    const i = start('train', interrupted);
    await waitFor(() => (position(interrupted)?.epoch ?? 0) >= 1, 'the epoch-1 checkpoint');
    await new Promise((r) => setTimeout(r, 60)); // somewhere inside epoch 2
    i.proc.kill('SIGINT');
    const stopped = await i.done;
    expect(stopped.code).toBe(0);
    expect(result(stopped.out).stopped).toMatch(/interrupted/);
    const pos = position(interrupted)!;
    expect(pos.batch).toBeGreaterThan(0); // mid-epoch position saved
    const resumed2 = result((await start('resume', interrupted).done).out);
    expect(resumed2.losses).toBe(ref.losses);
    expect(resumed2.validLoss).toBeCloseTo(ref.validLoss, 5);
  });

  it('a checkpoint killed while being written leaves the previous one intact (write-then-rename)', async () => {
    const dir = path.join(tmp.dir, 'atomic', 'models', 'ck');
    for (let round = 0; round < 3; round++) {
      const s = start('save-loop', dir);
      let out = '';
      s.proc.stdout!.on('data', (d) => (out += d));
      await waitFor(() => (out.match(/saved/g) ?? []).length >= 2 + round, 'two saves');
      await new Promise((r) => setTimeout(r, 7 + 23 * round)); // land inside a later write
      s.proc.kill('SIGKILL');
      await s.done;
      const ck = readCheckpoint(dir);
      const k = ck.state.k as number;
      const values = new Set(Object.values(ck.weights).flatMap((t) => Array.from(new Set(t.dataSync()))));
      ck.dispose();
      expect([...values]).toEqual([k]); // every weight from the same, complete save
    }
  });
});
