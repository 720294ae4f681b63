/**
 * Library behaviour the commands rely on: leftovers of killed saves are reported and then removed, the backend
 * initialises itself on first use, .vec problems are one warning line from every reader.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { findLeftovers, recoverInterruptedSave, writeDirAtomically } from '../../lib/backend/io';
import { openVectors, readVec } from '../../lib/vectors/vec';
import { ROOT, tempDir } from '../helpers';
import { runNode } from './run';

const { dir, cleanup } = tempDir('devise-cli-library-');
afterAll(cleanup);

/** The pid of a process that has exited (so a save it named is certainly not running). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('leftovers of killed saves', () => {
  it('a load reports them, the next completed save removes them; a live save is left alone', async () => {
    const target = path.join(dir, 'models', 'stage1-frozen');
    writeDirAtomically(target, { 'a.txt': 'v1' });
    const dead = await deadPid();
    const tmp = `${target}.tmp-${Date.now()}-${dead}`;
    const old = `${target}.old-${Date.now() - 5}-${dead}`;
    const live = `${target}.tmp-${Date.now()}-${process.ppid}`; // the test runner's parent is alive
    for (const d of [tmp, old, live]) {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'weights.bin'), Buffer.alloc(2_000_000));
    }
    expect(findLeftovers(target).map((l) => l.path).sort()).toEqual([old, tmp].sort());

    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    recoverInterruptedSave(target);
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/^note: 2 folders \(4\.0 MB\) left by interrupted saves: .*the next save there removes them$/)]);
    expect(fs.existsSync(tmp) && fs.existsSync(old)).toBe(true);

    warn.mockClear();
    writeDirAtomically(target, { 'a.txt': 'v2' });
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/^note: removed 2 folders \(4\.0 MB\) left by interrupted saves/)]);
    warn.mockRestore();
    expect(fs.existsSync(tmp) || fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('v2');
  });

  it('an .old-* whose folder is missing is the copy to restore, not a leftover', async () => {
    const target = path.join(dir, 'restore', 'm');
    const old = `${target}.old-${Date.now()}-${await deadPid()}`;
    fs.mkdirSync(old, { recursive: true });
    fs.writeFileSync(path.join(old, 'a.txt'), 'kept');
    expect(findLeftovers(target)).toEqual([]);
    recoverInterruptedSave(target);
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('kept');
  });
});

describe('.vec warnings', () => {
  it('duplicates and invalid UTF-8: one warning line from readVec and from openVectors (fresh and cached)', async () => {
    const file = path.join(dir, 'dup.vec');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('3 2\ndog 1 2\ncat 3 4\ndog 5 6\n'), Buffer.from([0xff, 0xfe]), Buffer.from('o 1 1\n')]));
    const lines: string[] = [];
    await readVec(file, { onWarning: (m) => lines.push(m) });
    (await openVectors(file, { onWarning: (m) => lines.push(m) })).close(); // builds the cache
    (await openVectors(file, { onWarning: (m) => lines.push(m) })).close(); // reopens it
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(new RegExp(`^warning: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 1 duplicate word .*; 1 word with invalid UTF-8`));
    expect(lines[0]).toMatch(/'dog' line 4 \(first 2\)/);
  });
});

describe('backend on first use', () => {
  it('loadModel and createModel work without initBackend()', () => {
    const script = path.join(dir, 'first-use.ts');
    fs.writeFileSync(script, [
      `import { createModel, loadModel, saveModel } from '${path.join(ROOT, 'lib', 'models', 'index')}';`,
      `(async () => {`,
      `  const m = await createModel('squeezenet1_1', { classes: 3, inputSize: 32 });`,
      `  await saveModel(m, '${path.join(dir, 'saved')}');`,
      `  const back = await loadModel('${path.join(dir, 'saved')}');`,
      `  console.log(JSON.stringify({ units: back.head.units }));`,
      `})();`,
    ].join('\n'));
    const r = runNode(path.relative(ROOT, script), [], { DEVISE_WASM_THREADS: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ units: 3 });
    expect(r.stderr).not.toMatch(/has not yet been initialized/);
  });
});
