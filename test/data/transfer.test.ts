import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readClassList } from '../../lib/data/awa2';
import { readFolders } from '../../lib/data/folders';
import { planSample, planSplit, runTransfer } from '../../lib/data/transfer';
import { ROOT, runTs, tempDir } from '../helpers';
import { FAKE_CLASSES, makeFakeAwa2, snapshot } from './fake-awa2';

const { dir, cleanup } = tempDir('devise-transfer-');
afterAll(cleanup);
let n = 0;
/** A fresh fake AWA2 root for each test. */
function fresh(perClass = 60): { root: string; src: string; contents: Map<string, string> } {
  const root = path.join(dir, `awa${n++}`);
  const contents = makeFakeAwa2(root, perClass);
  return { root, src: path.join(root, 'JPEGImages'), contents };
}

describe('copy-awa2 / move-awa2 logic', () => {
  it('copies --count per class, deterministically per seed, and a rerun changes nothing', () => {
    const { root, src, contents } = fresh();
    const classes = readClassList(path.join(root, 'trainclasses.txt'));
    const a = path.join(root, 'a');
    const rep = runTransfer(planSample({ src, dest: a, classes, count: 20, seed: 1 }));
    expect(rep.classes.map((c) => [c.label, c.planned, c.transferred])).toEqual(classes.map((c) => [c, 20, 20]));
    const snapA = snapshot(a);
    expect(snapA.size).toBe(80);
    for (const [k, v] of snapA) expect(contents.get(k)).toBe(v);
    runTransfer(planSample({ src, dest: path.join(root, 'b'), classes, count: 20, seed: 1 }));
    expect([...snapshot(path.join(root, 'b')).keys()]).toEqual([...snapA.keys()]);
    runTransfer(planSample({ src, dest: path.join(root, 'c'), classes, count: 20, seed: 2 }));
    expect([...snapshot(path.join(root, 'c')).keys()]).not.toEqual([...snapA.keys()]);
    const again = runTransfer(planSample({ src, dest: a, classes, count: 20, seed: 1 }));
    expect(again.classes.every((c) => c.transferred === 0 && c.already === 20)).toBe(true);
    expect(snapshot(a)).toEqual(snapA);
    expect(snapshot(src)).toEqual(contents); // copy leaves the source alone
  });

  it('a validation split moves round(n * percent) per class; a rerun moves nothing', () => {
    const { root, src } = fresh();
    const out = path.join(root, 'out');
    runTransfer(planSample({ src, dest: path.join(out, 'train'), classes: FAKE_CLASSES, seed: 0 }));
    const before = snapshot(path.join(out, 'train'));
    const rep = runTransfer(planSplit({ root: out, from: 'train', to: 'valid', percent: 0.1, seed: 0 }));
    expect(rep.classes.map((c) => c.planned)).toEqual(FAKE_CLASSES.map((_, i) => Math.round((60 + i) * 0.1)));
    const train = snapshot(path.join(out, 'train'));
    const valid = snapshot(path.join(out, 'valid'));
    expect(train.size + valid.size).toBe(before.size);
    for (const k of valid.keys()) expect(train.has(k)).toBe(false);
    const again = runTransfer(planSplit({ root: out, from: 'train', to: 'valid', percent: 0.1, seed: 0 }));
    expect(again.classes.every((c) => c.transferred === 0)).toBe(true);
    expect(snapshot(path.join(out, 'valid'))).toEqual(valid);
  });

  it('the same tools lay out train/ valid/ test/ from trainclasses.txt and testclasses.txt', () => {
    const { root, src } = fresh(30);
    const out = path.join(root, 'out');
    runTransfer(planSample({ src, dest: path.join(out, 'train'), classes: readClassList(path.join(root, 'trainclasses.txt')), count: 20, seed: 0 }));
    runTransfer(planSplit({ root: out, from: 'train', to: 'valid', percent: 0.25, seed: 0 }));
    runTransfer(planSample({ src, dest: path.join(out, 'test'), classes: readClassList(path.join(root, 'testclasses.txt')), seed: 0 }));
    const ds = readFolders(out);
    expect(ds.classes).toEqual(FAKE_CLASSES.slice(0, 4).sort());
    expect(ds.testClasses).toEqual(FAKE_CLASSES.slice(4).sort());
    const count = (split: string) => ds.items.filter((it) => it.split === split).length;
    expect([count('train'), count('valid'), count('test')]).toEqual([4 * 15, 4 * 5, 34 + 35]);
  });

  it('recovers from each state a kill can leave: journal only, half-written temp file, linked but not unlinked', () => {
    const { src, root, contents } = fresh(12);
    const dest = path.join(root, 'd');
    const job = planSample({ src, dest, classes: ['beaver', 'dalmatian'], count: 4, seed: 5, move: true });
    fs.mkdirSync(path.join(dest, 'beaver'), { recursive: true });
    fs.writeFileSync(path.join(dest, '.devise-transfer.json'), JSON.stringify({ key: job.key, mode: job.mode, ops: job.ops }));
    const [a, b] = job.ops;
    fs.linkSync(a!.from, a!.to); // killed between link and unlink
    fs.writeFileSync(path.join(dest, 'beaver', `.${path.basename(b!.to)}.devise-tmp`), 'half'); // killed mid-copy
    const rep = runTransfer(planSample({ src, dest, classes: ['beaver', 'dalmatian'], count: 4, seed: 5, move: true }));
    expect(rep.resumed).toBe(true);
    const after = new Map([...snapshot(src), ...snapshot(dest)]);
    expect(after).toEqual(contents);
    expect(snapshot(dest).size).toBe(8);
    for (const op of job.ops) expect(fs.existsSync(op.from)).toBe(false);
  });

  it('never overwrites a different file with the same name', () => {
    const { root, src } = fresh(10);
    const dest = path.join(root, 'd');
    const job = planSample({ src, dest, classes: ['beaver'], count: 3, seed: 0 });
    fs.mkdirSync(path.join(dest, 'beaver'), { recursive: true });
    fs.writeFileSync(job.ops[0]!.to, 'someone else');
    const rep = runTransfer(job);
    expect(rep.conflicts).toHaveLength(1);
    expect(fs.readFileSync(job.ops[0]!.to, 'utf8')).toBe('someone else');
    expect(rep.classes[0]!.transferred).toBe(2);
  });

  it('refuses overlapping source and destination, and a journal from other flags', () => {
    const { root, src } = fresh(5);
    expect(() => planSample({ src, dest: path.join(src, 'beaver', 'x'), classes: ['beaver'] })).toThrow(/overlap/);
    expect(() => planSample({ src: root, dest: path.join(root, 'JPEGImages'), classes: ['beaver'] })).toThrow(/overlap/);
    expect(() => planSplit({ root, from: 'JPEGImages', to: 'JPEGImages', percent: 0.5 })).toThrow(/overlap/);
    const dest = path.join(root, 'd');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, '.devise-transfer.json'), JSON.stringify({ key: 'other', mode: 'copy', ops: [] }));
    expect(() => runTransfer(planSample({ src, dest, classes: ['beaver'] }))).toThrow(/different flags/);
  });
});

describe('copy-awa2 / move-awa2 CLIs', () => {
  it('--help, --dry-run changes nothing, overlap refused with exit code', () => {
    const { root, src } = fresh(20);
    const help = runTs('utils/copy-awa2.ts', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--count/);
    expect(runTs('utils/move-awa2.ts', ['--help']).stdout).toMatch(/--percent/);
    const before = snapshot(src);
    const dry = runTs('utils/copy-awa2.ts', ['--src', src, '--dest', path.join(root, 'out', 'train'), '--classes', path.join(root, 'trainclasses.txt'), '--count', '5', '--move', '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/TOTAL\s+20\s+20\s+0\s+0/);
    expect(dry.stdout).toMatch(/dry run/);
    expect(snapshot(src)).toEqual(before);
    expect(fs.existsSync(path.join(root, 'out'))).toBe(false);
    const bad = runTs('utils/copy-awa2.ts', ['--src', src, '--dest', path.join(src, 'sub'), '--classes', path.join(root, 'trainclasses.txt')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/overlap/);
  });

  it('killed mid-run (SIGKILL, several times), a rerun completes with no file lost or duplicated', async () => {
    const { root, src, contents } = fresh(70);
    const out = path.join(root, 'out');
    const copyArgs = ['--src', src, '--dest', path.join(out, 'train'), '--classes', path.join(root, 'trainclasses.txt'), '--count', '50', '--seed', '3', '--move'];
    const splitArgs = ['--root', out, '--from', 'train', '--to', 'valid', '--percent', '0.2', '--seed', '3'];
    // Every file lives in exactly one of src/, out/train/, out/valid/ with its content; right after a kill one may
    // be in two places at once (hard-linked, killed between link and unlink), which the rerun resolves.
    const check = (strict = true) => {
      const all = [snapshot(src), snapshot(path.join(out, 'train')), snapshot(path.join(out, 'valid'))];
      const seen = new Map<string, string>();
      for (const m of all) for (const [k, v] of m) {
        if (k.startsWith('.devise-transfer.json') || k.endsWith('.devise-tmp')) continue;
        if (seen.has(k)) expect(!strict && seen.get(k) === v, `duplicated ${k}`).toBe(true);
        seen.set(k, v);
      }
      expect(seen).toEqual(contents);
      return all.map((m) => [...m.keys()].filter((k) => k.endsWith('.jpg')).length);
    };
    const runs = [['utils/copy-awa2.ts', copyArgs, path.join(out, 'train'), [15, 90]], ['utils/move-awa2.ts', splitArgs, path.join(out, 'valid'), [6, 25]]] as const;
    for (const [file, args, watch, killAts] of runs) {
      for (const killAt of killAts) {
        const moved = await killWhen(file, args, watch, killAt);
        expect(moved).toBeGreaterThanOrEqual(killAt);
        check(false);
      }
      const done = runTs(file, args);
      expect(done.status, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/resumed/);
      check();
      const again = runTs(file, args); // idempotent after success
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/resumed/);
    }
    const [inSrc, inTrain, inValid] = check();
    expect(inTrain! + inValid!).toBe(4 * 50);
    expect(inValid).toBe(4 * Math.round(50 * 0.2));
    expect(inSrc).toBe(contents.size - 200);
    expect(fs.existsSync(path.join(out, 'train', '.devise-transfer.json'))).toBe(false);
  });
});

/** Spawns a slowed-down CLI and SIGKILLs it once `watch` holds at least `count` images; returns that count. */
async function killWhen(file: string, args: readonly string[], watch: string, count: number): Promise<number> {
  // node --import tsx, not the tsx CLI: that one forks a child which a SIGKILL of the parent would not stop.
  const slow = path.join(ROOT, 'test', 'hooks', 'slow-fs.ts'); // every per-image step waits 4 ms
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', slow, path.join(ROOT, file), ...args], { cwd: ROOT, env: { ...process.env, SLOW_FS_MS: '4' }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const countNow = () => (fs.existsSync(watch) ? fs.readdirSync(watch).filter((c) => !c.startsWith('.')).reduce((s, c) => s + fs.readdirSync(path.join(watch, c)).filter((f) => f.endsWith('.jpg')).length, 0) : 0);
  for (;;) {
    const c = countNow();
    if (c >= count) {
      child.kill('SIGKILL');
      await exited;
      return countNow();
    }
    if (child.exitCode !== null) throw new Error(`${file} finished before it could be killed (${c} files)`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
