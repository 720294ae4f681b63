/**
 * The run folder's one module: finding a run (given path, report folder, name under reports/, the notebook's run,
 * the newest demo run), a given run that is not there named in the error, a damaged run.json named in the error,
 * and checkpoint status from state.json. Plain files, no training.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointStatus, describePosition, findRun, readRunFile, RUN_FORMAT, type RunFile, writeRunFile } from '../../lib/run-folder';
import { tempDir } from '../helpers';

const tmp = tempDir('devise-run-folder-');
afterAll(() => tmp.cleanup());

const runFile = (labels: string): RunFile => ({ format: RUN_FORMAT, arch: 'squeezenet1_1', size: 32, seed: 0, labels, data: 'data_samples', classes: ['a'], testClasses: ['b'], preprocessing: { kind: 'imagenet', mean: [0, 0, 0], std: [1, 1, 1] } as RunFile['preprocessing'], phases: {} });

/** A run folder holding run.json and the given subfolders. */
function makeRun(dir: string, labels: string, subs: string[], mtime: number): string {
  writeRunFile(dir, runFile(labels));
  for (const s of subs) fs.mkdirSync(path.join(dir, s), { recursive: true });
  fs.utimesSync(path.join(dir, 'run.json'), mtime, mtime);
  return dir;
}

describe('run folder', () => {
  const reports = path.join(tmp.dir, 'reports');
  const older = makeRun(path.join(reports, '2026-01-01', 'run'), 'older', ['models', 'search'], 1_000);
  const newer = makeRun(path.join(reports, '2026-01-02', 'run'), 'newer', ['models'], 2_000);
  const notebook = makeRun(path.join(tmp.dir, 'models', 'run-squeezenet1_1'), 'notebook', ['models', 'search'], 500);

  it('finds a given run by path, report folder or name; else the notebook run; else the newest demo run with what is needed', () => {
    expect(findRun({ given: older, reports })?.from).toBe('given');
    expect(findRun({ given: path.dirname(older), reports })?.dir).toBe(older);
    expect(findRun({ given: '2026-01-02', reports })?.run?.labels).toBe('newer');
    expect(findRun({ given: '', notebook, reports, needs: 'search' })).toMatchObject({ dir: notebook, from: 'notebook' });
    expect(findRun({ given: '', reports, needs: 'models' })).toMatchObject({ dir: newer, from: 'demo' });
    expect(findRun({ given: '', reports, needs: 'search' })).toMatchObject({ dir: older, from: 'demo' }); // the newer one has no indices
    expect(findRun({ given: '', reports: path.join(tmp.dir, 'none') })).toBeNull();
  });

  it('a given run that is not there is an error naming it (no silent fallback to another run)', () => {
    expect(() => findRun({ given: path.join(tmp.dir, 'missing'), notebook, reports })).toThrow(/missing holds no run/);
    expect(() => findRun({ given: '2026-01-02', reports, needs: 'search' })).toThrow(/2026-01-02 holds no run with search indices/);
  });

  it('a damaged run.json is an error naming the file', () => {
    const dir = path.join(tmp.dir, 'damaged');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run.json'), '{"format": ');
    expect(() => readRunFile(dir)).toThrow(new RegExp(`${path.join(dir, 'run.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    expect(readRunFile(path.join(tmp.dir, 'nothing-here'))).toBeUndefined();
  });

  it("checkpoint status from each phase's state.json: none, partial (with its position), done", () => {
    const dir = path.join(tmp.dir, 'ckpt');
    const state = (name: string, epoch: number, epochs: number) => {
      fs.mkdirSync(path.join(dir, 'models', name), { recursive: true });
      fs.writeFileSync(path.join(dir, 'models', name, 'state.json'), JSON.stringify({ plan: { epochs }, position: { epoch, batch: 3, iteration: 0 } }));
    };
    state('stage1-frozen', 4, 4);
    state('stage1-unfrozen', 1, 2);
    expect(checkpointStatus(dir, 'stage1-frozen').status).toBe('done');
    expect(checkpointStatus(dir, 'stage1-unfrozen')).toMatchObject({ status: 'partial', epoch: 1, batch: 3, epochs: 2 });
    expect(checkpointStatus(dir, 'stage2a').status).toBe('none');
    expect(describePosition(dir, (p) => path.relative(dir, p))).toBe('in phase stage1-unfrozen at epoch 2 of 2, batch 3 (checkpoint models/stage1-unfrozen)');
  });
});
