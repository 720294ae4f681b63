/**
 * Ctrl-C and resume, with real processes and real signals, through the npm scripts exactly as a user runs them:
 * the signal goes to the whole process group (npm, its shell, node), as a terminal sends it.
 *
 * - `npm run train` on a tiny set gets SIGINT mid-epoch five times in a row (the first run, then four --resume
 *   runs): each writes its checkpoint, prints where it stopped and the resume command, and exits 130; a last
 *   `--resume` finishes with the same final validation loss as an uninterrupted run (same seed, one thread).
 * - kill -9 during the unfrozen stage-1 phase, then --resume: that phase runs to its end, same final loss.
 * - the same for `npm run demo -- --quick` (three interrupts, in stage 1, stage 2a and stage 2b).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import { exitedInterrupted, lastJson, npmRun, npmRunSignalled, ONE_THREAD, pauseAfterEachBatch, sleep, tinySet } from './run';

const { dir, cleanup } = tempDir('devise-cli-interrupt-');
afterAll(cleanup);

let tiny: string;
beforeAll(() => {
  tiny = tinySet(path.join(dir, 'tiny'));
});

// 32 train images (--valid-pct 0.2) / batch 4 = 8 batches per epoch; 5 frozen + 5 unfrozen epochs (about a second each).
const BATCHES = 8;
// --lr: a fixed rate, so no LR-finder batches come before the ones the test counts.
const trainArgs = (out: string): string[] => ['--data', tiny, '--valid-pct', '0.2', '--size', '32', '--bs', '4', '--epochs', '5', '--unfreeze-epochs', '5', '--lr', '3e-3', '--seed', '3', '--out', out, '--json'];
const ROW = /^\d+\s+-?\d+\.\d+\s+-?\d+\.\d+/gm;
const count = (re: RegExp, s: string): number => (s.match(re) ?? []).length;

interface State {
  plan: { epochs: number };
  position: { epoch: number; batch: number; iteration: number };
}
const checkpointState = (run: string, phase: string): State => JSON.parse(fs.readFileSync(path.join(run, 'models', phase, 'state.json'), 'utf8')) as State;
const runJson = (run: string): { phases: Record<string, string> } => JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as { phases: Record<string, string> };

describe('npm run train: Ctrl-C, kill -9 and --resume', () => {
  let reference: number;

  it('an uninterrupted run (the reference)', () => {
    const r = npmRun('train', trainArgs(path.join(dir, 'ref')), ONE_THREAD);
    expect(r.status, r.stderr).toBe(0);
    reference = lastJson<{ validLoss: number }>(r.stdout).validLoss;
    expect(Number.isFinite(reference)).toBe(true);
  }, 300_000);

  it('five SIGINTs mid-epoch: checkpoint, where it stopped, the resume command, exit 130; then --resume gives the reference loss', async () => {
    const run = path.join(dir, 'interrupted');
    // Where each run gets its Ctrl-C: the CLI's test hook prints a line after every batch (and pauses 1 ms), so the
    // signal lands mid-epoch whatever the machine's speed (phase, iteration: 8 batches per epoch).
    const at = ['stage1-frozen batch 5', 'stage1-frozen batch 19', 'stage1-frozen batch 36', 'stage1-unfrozen batch 10', 'stage1-unfrozen batch 29'];
    const env = { ...ONE_THREAD, ...pauseAfterEachBatch(1) };
    let midEpoch = 0;
    for (let i = 0; i < 5; i++) {
      const args = i === 0 ? trainArgs(run) : ['--resume', run, '--json'];
      const r = await npmRunSignalled('train', args, env, (out) => (out.includes(`test: ${at[i]} done`) ? 'SIGINT' : undefined));
      expect(r.signalled, r.output).toBe(true);
      expect(exitedInterrupted(r), `${r.code} ${r.signal}\n${r.output}`).toBe(true);
      expect(r.output).toContain(`Resume with:\n  npm run train -- --resume ${run}`);
      const m = /Stopped \(Ctrl-C\) in phase (stage1-frozen|stage1-unfrozen) at epoch (\d+) of (\d+), batch (\d+) of (\d+)/.exec(r.output);
      expect(m, r.output).not.toBeNull();
      const [, phase, epoch, , batch, of] = m!;
      expect(phase).toBe(at[i]!.split(' ')[0]);
      expect(Number(of)).toBe(BATCHES);
      // The checkpoint holds exactly the position the message reports.
      const st = checkpointState(run, phase!);
      expect(st.position.epoch + 1).toBe(Number(epoch));
      expect(st.position.batch).toBe(Number(batch));
      if (Number(batch) > 0) midEpoch++;
      expect(runJson(run).phases[phase!]).toBe('running');
      expect(r.output).not.toMatch(/^\s{4}at /m);
    }
    expect(midEpoch, 'interrupts that landed mid-epoch').toBe(5);
    const done = npmRun('train', ['--resume', run, '--json'], ONE_THREAD);
    expect(done.status, done.stderr).toBe(0);
    expect(lastJson<{ validLoss: number }>(done.stdout).validLoss).toBe(reference);
    expect(runJson(run).phases).toEqual({ 'stage1-frozen': 'done', 'stage1-unfrozen': 'done' });
  }, 600_000);

  it('kill -9 in the unfrozen stage-1 phase: --resume runs that phase to its end (not lost), same final loss', async () => {
    const run = path.join(dir, 'killed');
    // In the unfrozen phase's third epoch (after its per-epoch checkpoints of epochs 1 and 2).
    const env = { ...ONE_THREAD, ...pauseAfterEachBatch(1) };
    const r = await npmRunSignalled('train', trainArgs(run), env, (out) => (out.includes('test: stage1-unfrozen batch 20 done') ? 'SIGKILL' : undefined));
    expect(r.signalled, r.output).toBe(true);
    expect(r.signal === 'SIGKILL' || r.code === 137, `${r.code} ${r.signal}`).toBe(true);
    expect(runJson(run).phases).toMatchObject({ 'stage1-frozen': 'done', 'stage1-unfrozen': 'running' });
    const before = checkpointState(run, 'stage1-unfrozen');
    expect(before.position.epoch).toBeLessThan(before.plan.epochs);

    const done = npmRun('train', ['--resume', run, '--json'], ONE_THREAD);
    expect(done.status, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/resuming .*\(done: stage1-frozen\)/);
    // Exactly the unfrozen epochs that were left ran again (the one killed part-way from its start).
    expect(before.position).toMatchObject({ epoch: 2, batch: 0 });
    expect(count(ROW, done.stderr)).toBe(before.plan.epochs - before.position.epoch);
    const after = checkpointState(run, 'stage1-unfrozen');
    expect(after.position.epoch).toBe(after.plan.epochs);
    expect(runJson(run).phases['stage1-unfrozen']).toBe('done');
    expect(lastJson<{ validLoss: number }>(done.stdout).validLoss).toBe(reference);
  }, 300_000);

  it('a second Ctrl-C (apart from the first) exits at once, without waiting for the batch', async () => {
    const run = path.join(dir, 'twice');
    // A 3 s pause after each batch (a slow batch), so the second Ctrl-C lands while the first still waits for it to end.
    const env = { ...ONE_THREAD, ...pauseAfterEachBatch(3000) };
    const r = await npmRunSignalled('train', trainArgs(run), env, async (out) => {
      if (!/^test: stage1-frozen batch 2 done/m.test(out)) return undefined;
      await sleep(100);
      return 'SIGINT';
    }, async (group) => {
      await sleep(800); // a deliberate second press, apart from the first (within 500 ms counts as the same one)
      process.kill(-group, 'SIGINT');
    });
    expect(exitedInterrupted(r), r.output).toBe(true);
    expect(r.output).toMatch(/Interrupted again: exiting now/);
    expect(r.output).not.toMatch(/Resume with/);
  }, 120_000);
});

describe('npm run demo -- --quick: Ctrl-C and --resume', () => {
  it('three interrupts (stage 1, 2a, 2b), each exits 130 with the resume command; --resume ends with the uninterrupted loss', async () => {
    const small = { ...ONE_THREAD, DEVISE_SIZE: '32' }; // --quick at 32 px (the resumed runs reuse the first run's settings)
    const ref = npmRun('demo', ['--quick', '--out', path.join(dir, 'demo-ref'), '--json'], small);
    expect(ref.status, ref.stderr).toBe(0);
    const reference = lastJson<{ stage2CosineLoss: number }>(ref.stdout).stage2CosineLoss;

    const out = path.join(dir, 'demo');
    // Each run is stopped in the middle of a phase: the CLI's test hook prints a line after every batch (and pauses 50 ms).
    const env = { ...small, ...pauseAfterEachBatch(50) };
    const at = ['stage1-frozen batch 3', 'stage2a batch 12', 'stage2b batch 4'];
    const phases: string[] = [];
    for (let i = 0; i < 3; i++) {
      const args = i === 0 ? ['--quick', '--out', out, '--json'] : ['--resume', out, '--json'];
      const r = await npmRunSignalled('demo', args, env, (o) => (o.includes(`test: ${at[i]} done`) ? 'SIGINT' : undefined));
      expect(r.signalled, r.output).toBe(true);
      expect(exitedInterrupted(r), `${r.code} ${r.signal}\n${r.output}`).toBe(true);
      expect(r.output).toContain(`Resume with:\n  npm run demo -- --resume ${out}`);
      const m = /Stopped \(Ctrl-C\) in phase (\S+) at epoch \d+ of \d+, batch (\d+)/.exec(r.output);
      expect(m, r.output).not.toBeNull();
      phases.push(m![1]!);
      expect(Number(m![2])).toBeGreaterThan(0);
    }
    expect(phases).toEqual(['stage1-frozen', 'stage2a', 'stage2b']);
    const done = npmRun('demo', ['--resume', out, '--json'], ONE_THREAD); // no DEVISE_SIZE: command.json has it
    expect(done.status, done.stderr).toBe(0);
    expect(lastJson<{ stage2CosineLoss: number }>(done.stdout).stage2CosineLoss).toBe(reference);
    const phasesDone = (JSON.parse(fs.readFileSync(path.join(out, 'run', 'run.json'), 'utf8')) as { phases: Record<string, string> }).phases;
    expect(phasesDone).toEqual({ 'stage1-frozen': 'done', 'stage1-unfrozen': 'done', stage2a: 'done', stage2b: 'done' });
  }, 900_000);
});
