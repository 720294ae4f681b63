// Output-folder safety: one lock per folder, damaged JSON and full or read-only disks named by path.
//   npx vitest run test/backend/folder-safety.test.ts --maxWorkers 1
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { folderLockHolder, lockFolder, readJsonFile, writeDirAtomically, writeFileAtomically } from '../../lib/backend/io';
import { userMessage } from '../../lib/cli';
import { ROOT, tempDir } from '../helpers';

const tmp = tempDir('devise-folder-safety-');
afterAll(() => tmp.cleanup());

/** A child process that locks `dir` at wall-clock time `at` (ms), holds it `holdMs`, and prints `won` or the refusal. */
function contender(dir: string, at: number, holdMs: number): Promise<{ code: number | null; out: string }> {
  const script = path.join(tmp.dir, 'contender.ts');
  if (!fs.existsSync(script)) {
    fs.writeFileSync(
      script,
      `import { lockFolder } from ${JSON.stringify(path.join(ROOT, 'lib/backend/io.ts'))};
const [dir, at, hold] = process.argv.slice(2);
setTimeout(() => {
  try { lockFolder(dir!, 'contender ' + process.pid); console.log('won'); setTimeout(() => process.exit(0), Number(hold)); }
  catch (err) { console.log('refused: ' + (err as Error).message); process.exit(3); }
}, Math.max(0, Number(at) - Date.now()));
`,
    );
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(at), String(holdMs)], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('lockFolder', () => {
  it('lets exactly one of two runs started together into one folder in; the other names the holder', async () => {
    const dir = path.join(tmp.dir, 'out-race');
    // Both start at the same instant, well after both processes have loaded.
    const at = Date.now() + 6000;
    const [a, b] = await Promise.all([contender(dir, at, 1500), contender(dir, at, 1500)]);
    const results = [a, b].map((r) => r.out.trim());
    expect(results.filter((r) => r === 'won'), results.join(' | ')).toHaveLength(1);
    const refusal = results.find((r) => r.startsWith('refused'))!;
    expect(refusal).toMatch(/is in use by another run: PID \d+ \(contender \d+\)/);
    expect(refusal).toContain(dir);
    // The winner released its lock at exit.
    expect(folderLockHolder(dir)).toBeUndefined();
    expect(fs.existsSync(path.join(dir, '.devise.lock'))).toBe(false);
  }, 60_000);

  it('takes over the lock of a process that no longer exists, and releases its own', () => {
    const dir = path.join(tmp.dir, 'out-stale');
    fs.mkdirSync(dir, { recursive: true });
    // A PID that is certainly dead: a child that has already exited.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    fs.writeFileSync(path.join(dir, '.devise.lock'), JSON.stringify({ pid: deadPid, command: 'npm run train', started: 'earlier', host: os.hostname() }));
    const release = lockFolder(dir, 'this test');
    expect(folderLockHolder(dir)?.pid).toBe(process.pid);
    expect(folderLockHolder(dir)?.command).toBe('this test');
    // The same process may lock again (a notebook re-running its cell).
    lockFolder(dir, 'this test again')();
    release();
    expect(fs.existsSync(path.join(dir, '.devise.lock'))).toBe(false);
  });
});

describe('readJsonFile', () => {
  it('names the file and says it is damaged when the JSON is cut short', () => {
    const file = path.join(tmp.dir, 'run.json');
    fs.writeFileSync(file, JSON.stringify({ arch: 'squeezenet1_1', phases: { stage1: 'done' } }).slice(0, 20));
    expect(() => readJsonFile(file, 'run file')).toThrow(`run file ${file} is damaged (not valid JSON`);
    fs.writeFileSync(file, '');
    expect(() => readJsonFile(file, 'run file')).toThrow(/is damaged \(not valid JSON, it is empty/);
    expect(() => readJsonFile(path.join(tmp.dir, 'nope.json'), 'checkpoint state')).toThrow(`checkpoint state ${path.join(tmp.dir, 'nope.json')} does not exist`);
    fs.writeFileSync(file, '{"a": [1, 2]}');
    expect(readJsonFile<{ a: number[] }>(file, 'run file').a).toEqual([1, 2]);
  });
});

/** Mounts a tmpfs of `size` at a fresh folder (we run as root in CI); undefined when mounting is not allowed here. */
function mountTmpfs(name: string, options: string): string | undefined {
  const dir = path.join(tmp.dir, name);
  fs.mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`skipped: mount -t tmpfs -o ${options} failed here (${(r.stderr || String(r.error)).trim()}); needs root`);
    return undefined;
  }
  return dir;
}

describe('full and read-only disks', () => {
  it('a 3 MB tmpfs as output: the message names the file being written and the full disk', (ctx) => {
    const mnt = mountTmpfs('full', 'size=3m');
    if (!mnt) return ctx.skip();
    try {
      const big = new Uint8Array(4 * 1024 * 1024).fill(7);
      const ckpt = path.join(mnt, 'models', 'stage1');
      let err: unknown;
      try {
        writeDirAtomically(ckpt, { 'model.json': '{}', 'weights.bin': big });
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).toContain(`no space left on the device while writing ${path.join(ckpt, 'weights.bin')}`);
      expect(userMessage(err)).toContain(path.join(ckpt, 'weights.bin'));
      expect(userMessage(err)).not.toContain('unknown path');
      // Nothing half-written is left behind; a small file still fits afterwards.
      expect(fs.readdirSync(path.join(mnt, 'models'))).toEqual([]);
      const report = path.join(mnt, 'report', 'index.html');
      expect(() => writeFileAtomically(report, big)).toThrow(`no space left on the device while writing ${report}`);
      writeFileAtomically(report, '<html></html>');
      expect(fs.readFileSync(report, 'utf8')).toBe('<html></html>');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('a read-only output says read-only (not "does not exist"), naming the folder', (ctx) => {
    const mnt = mountTmpfs('readonly', 'ro,size=1m');
    if (!mnt) return ctx.skip();
    try {
      const out = path.join(mnt, 'run');
      expect(() => writeFileAtomically(path.join(out, 'run.json'), '{}')).toThrow(`${mnt} is read-only (creating the folder ${out})`);
      expect(() => lockFolder(out, 'npm run train')).toThrow(/is read-only/);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
