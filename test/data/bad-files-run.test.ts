// A dataset with a real download's bad files, through the commands a user runs: `npm run train` (stage 2, tiny
// settings) and `npm run export` finish, and each command names every bad file once — the JPEG damaged mid-file
// too, which only a decode finds (so each command's image table is a row per image that decoded).
//   npx vitest run test/data/bad-files-run.test.ts --maxWorkers 1
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers';
import { type BadFilesDataset, makeBadFilesDataset } from './bad-files';

const tmp = tempDir('devise-bad-run-');
afterAll(() => tmp.cleanup());
let ds: BadFilesDataset;

beforeAll(async () => {
  ds = await makeBadFilesDataset(path.join(tmp.dir, 'data'), ['fox', 'otter', 'zebra'], 6, 40, { damaged: true });
});

function cli(name: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils', `${name}.ts`), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000, env: { ...process.env, DEVISE_THREADS: '1' } });
}

/** The bad files: those the probe catches, and the JPEG damaged mid-file that only a decode finds. */
const badFiles = () => [...ds.bad.keys(), ds.damaged!];
/** How often each bad file is named in `text`. */
const mentions = (text: string) => badFiles().map((f) => text.split(f).length - 1);

describe('bad files through train and export', () => {
  it('train (stage 2) and export finish; each names every bad file once; the exported image table has a row per readable image', () => {
    const out = path.join(tmp.dir, 'run');
    const train = cli('train', ['--data', ds.root, '--stage', '2', '--vectors', 'word2vec', '--weights', 'none', '--size', '32', '--bs', '4', '--epochs', '1', '--unfreeze-epochs', '0', '--lr', '3e-3', '--out', out, '--json']);
    expect(train.status, train.stderr.slice(-2000)).toBe(0);
    expect(mentions(train.stderr), train.stderr.slice(-3000)).toEqual(badFiles().map(() => 1));
    expect(train.stderr).toContain('symbolic link to the data folder itself');
    const exp = path.join(tmp.dir, 'export');
    const ex = cli('export', ['--run', out, '--out', exp, '--quantize', 'none', '--json']);
    expect(ex.status, ex.stderr.slice(-2000)).toBe(0);
    expect(mentions(ex.stderr)).toEqual(badFiles().map(() => 1));
    // The exported image table (the app's search index) has one row per readable image and none of the bad ones.
    const manifest = JSON.parse(fs.readFileSync(path.join(exp, 'export.json'), 'utf8')) as { images: number };
    expect(manifest.images).toBe(ds.good.length);
    const table = fs.readFileSync(path.join(exp, 'images.json'), 'utf8');
    for (const f of badFiles()) expect(table).not.toContain(path.basename(f));
  }, 900_000);
});
