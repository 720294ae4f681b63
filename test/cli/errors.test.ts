/**
 * Ordinary mistakes, typed through the npm scripts as a user does: each gets exit code 1, one or two lines on
 * stderr (no stack trace), naming the path or flag that is wrong.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHS } from '../../lib/models/registry';
import { ROOT, tempDir } from '../helpers';
import { npmRun, ONE_THREAD, tinySet } from './run';

const { dir, cleanup } = tempDir('devise-cli-errors-');
afterAll(cleanup);

const p = (...parts: string[]): string => path.join(dir, ...parts);
const SMALL = ['--size', '32', '--bs', '4', '--epochs', '1', '--unfreeze-epochs', '0', '--lr', '3e-3'];

beforeAll(() => {
  tinySet(p('tiny'));
  // Folder-per-class with an empty class folder, flat and with train/.
  tinySet(p('flat-empty'), ['tiger', 'pig']);
  fs.mkdirSync(p('flat-empty', 'zebra'));
  for (const c of ['tiger', 'pig']) fs.cpSync(p('tiny', c), p('split-empty', 'train', c), { recursive: true });
  fs.mkdirSync(p('split-empty', 'train', 'zebra'));
  // An AWA2 root with classes.txt but no trainclasses.txt.
  fs.mkdirSync(p('awa2-partial', 'JPEGImages'), { recursive: true });
  fs.writeFileSync(p('awa2-partial', 'classes.txt'), '1\ttiger\n2\tpig\n');
  fs.writeFileSync(p('awa2-partial', 'testclasses.txt'), 'pig\n');
  // A JPEG passed as word vectors (binary), a corrupt .h5, a .vec without one of the classes.
  fs.copyFileSync(path.join(p('tiny', 'tiger'), fs.readdirSync(p('tiny', 'tiger'))[0]!), p('image.jpg'));
  fs.writeFileSync(p('bad.h5'), Buffer.concat([Buffer.from('\x89HDF\r\n\x1a\n', 'latin1'), Buffer.alloc(3000, 7)]));
  fs.writeFileSync(p('three.vec'), 'tiger 1 0 0\nrabbit 0 1 0\npig 0 0 1\n');
  // A run folder that already holds a run.
  fs.mkdirSync(p('used'), { recursive: true });
  fs.writeFileSync(p('used', 'run.json'), JSON.stringify({ format: 'devise-ts-run-1', phases: { 'stage1-frozen': 'done' } }));
});

/** script, args, what stderr must say (the path or flag named). */
const CASES: [string, string, () => string[], RegExp | ((dirPath: string) => RegExp)][] = [
  ['unknown flag names the closest one', 'train', () => ['--dat', p('tiny')], /unknown flag --dat \(did you mean --data\?\)/],
  ['missing --data folder does not exist', 'train', () => ['--data', p('nowhere')], () => new RegExp(`${esc(p('nowhere'))} does not exist`)],
  ['--data at a file', 'train', () => ['--data', p('image.jpg')], () => new RegExp(`${esc(p('image.jpg'))} is a file, not a dataset folder`)],
  ['AWA2 root without trainclasses.txt names that file', 'train', () => ['--data', p('awa2-partial')], () => new RegExp(`${esc(p('awa2-partial', 'trainclasses.txt'))} is missing`)],
  ['empty class folder, flat layout', 'train', () => ['--data', p('flat-empty'), ...SMALL], () => new RegExp(`class folder ${esc(p('flat-empty', 'zebra'))} has no images.*--skip-empty`)],
  ['empty class folder, train/ layout', 'train', () => ['--data', p('split-empty'), ...SMALL], () => new RegExp(`class folder ${esc(p('split-empty', 'train', 'zebra'))} has no images.*--skip-empty`)],
  ['--classes naming a class without images names the folder that was read', 'train', () => ['--data', p('tiny'), '--classes', 'tiger,okapi', ...SMALL], () => new RegExp(`'okapi' \\(${esc(p('tiny', 'okapi'))}\\)`)],
  ['binary file as --vectors', 'train', () => ['--data', p('tiny'), '--stage', '2', '--vectors', p('image.jpg'), ...SMALL], () => new RegExp(`${esc(p('image.jpg'))} is not a text word-vector file`)],
  ['missing --vectors file', 'train', () => ['--data', p('tiny'), '--stage', '2', '--vectors', p('none.vec'), ...SMALL], () => new RegExp(`${esc(p('none.vec'))} does not exist`)],
  ['a class missing from --vectors: the hint names --alias', 'train', () => ['--data', p('tiny'), '--stage', '2', '--vectors', p('three.vec'), ...SMALL], /No word vector for 1 label\(s\): 'mouse'.*--alias <label>=<word>/],
  ['corrupt .h5 as --weights', 'train', () => ['--data', p('tiny'), '--weights', p('bad.h5'), ...SMALL], () => new RegExp(`${esc(p('bad.h5'))}: not a readable HDF5 file \\(HDF5: .*\\)`)],
  ['--from with nothing to train says what to pass', 'train', () => ['--data', p('tiny'), '--from', p('tiny'), '--stage', '1'], /leaves nothing to train.*pass --stage 2 --vectors/s],
  ['--resume of a folder that does not exist', 'train', () => ['--resume', p('nowhere')], () => new RegExp(`--resume ${esc(p('nowhere'))} does not exist`)],
  ['an --out that holds a run is not overwritten', 'train', () => ['--data', p('tiny'), '--out', p('used')], () => new RegExp(`${esc(p('used'))} already holds a run.*--resume`, 's')],
  ['demo: a bad --model value names the choices', 'demo', () => ['--model', 'nonsense'], new RegExp(`--model must be one of ${Object.keys(ARCHS).join(', ')}, got 'nonsense'`)],
  ['demo: missing --data', 'demo', () => ['--data', p('nowhere'), '--quick', '--out', p('demo-out')], () => new RegExp(`${esc(p('nowhere'))} does not exist`)],
  ['weights convert of a missing file', 'weights', () => ['convert', p('none.pth'), '--arch', 'squeezenet1_1', '--out', p('conv')], () => new RegExp(esc(p('none.pth')))],
  ['copy-awa2 from a missing folder', 'copy-awa2', () => ['--src', p('nowhere'), '--dest', p('out'), '--classes', p('awa2-partial', 'classes.txt')], () => new RegExp(esc(p('nowhere')))],
  ['move-awa2 of a missing root', 'move-awa2', () => ['--root', p('nowhere'), '--percent', '0.1'], () => new RegExp(esc(p('nowhere')))],
];

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('user errors: exit 1, a short message naming the path, no stack trace', () => {
  for (const [name, script, args, want] of CASES) {
    it(name, () => {
      const r = npmRun(script, args(), ONE_THREAD);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).not.toMatch(/^\s{4}at /m);
      expect(r.stderr).not.toMatch(/HDF5-DIAG|ERR_PARSE_ARGS|TypeError|ENOENT|ENOTDIR|EISDIR/);
      // No raw bytes of a binary file: printable text only.
      // eslint-disable-next-line no-control-regex
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
      const errors = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('WARNING') && !l.startsWith('warning'));
      expect(errors.length, r.stderr).toBeLessThanOrEqual(2);
      expect(errors[0]).toMatch(/^error: /);
      expect(r.stderr).toMatch(typeof want === 'function' ? want(dir) : want);
    });
  }

  it('run from a subfolder, relative paths start from there (not the package root npm runs scripts in)', () => {
    const sub = path.join(ROOT, 'lib');
    const r = npmRun('train', ['--data', path.relative(sub, p('nowhere'))], ONE_THREAD, sub);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`dataset folder ${p('nowhere')} does not exist`);
  });

  it('with DEVISE_DEBUG=1 the stack trace is printed too', () => {
    const r = npmRun('train', ['--data', p('image.jpg')], { ...ONE_THREAD, DEVISE_DEBUG: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\s{4}at /m);
  });

  it('--skip-empty leaves the empty class folder out with one warning', () => {
    const r = npmRun('train', ['--data', p('flat-empty'), '--skip-empty', ...SMALL, '--out', p('skip'), '--json'], ONE_THREAD);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`warning: skipping class folder ${esc(p('flat-empty', 'zebra'))} has no images`));
    expect(JSON.parse(fs.readFileSync(p('skip', 'run.json'), 'utf8')).classes).toEqual(['pig', 'tiger']);
  });
});
