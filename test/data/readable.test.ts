// The one list of readable items: bad files are settled once, reported once by path, and every later pass over the
// data (batches, an index of every image) sees exactly that list.
//   npx vitest run test/data/readable.test.ts --maxWorkers 1
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { listDirs, listImages } from '../../lib/data/items';
import { imageDataBunch } from '../../lib/data/loader';
import { probeImage, settleReadable } from '../../lib/data/readable';
import { readFolders } from '../../lib/data/folders';
import { IMAGENET } from '../../lib/preprocessing';
import { ImageIndex } from '../../lib/search';
import { tempDir } from '../helpers';
import { type BadFilesDataset, makeBadFilesDataset } from './bad-files';

const tmp = tempDir('devise-readable-');
afterAll(() => tmp.cleanup());
let ds: BadFilesDataset;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  ds = await makeBadFilesDataset(path.join(tmp.dir, 'data'));
});

describe('probeImage', () => {
  it('names what is wrong with each bad file, and passes every good one', async () => {
    const expected: Record<string, RegExp> = {
      text: /not an image: a text file \(starts "these are my notes/,
      empty: /empty file \(0 bytes\)/,
      huge: /too large to decode: 40000×40000 px/,
      truncated: /cut short \(\d+ bytes; (its header is incomplete|no JPEG end marker)\)/,
      loop: /symbolic link loop/,
      'broken link': /broken symbolic link \(its target no-such-file\.jpg does not exist\)/,
    };
    for (const [file, what] of ds.bad) expect(await probeImage(file), file).toMatch(expected[what]!);
    for (const file of ds.good) expect(await probeImage(file), file).toBeNull();
  });
});

describe('the readable-items list', () => {
  it('listing keeps bad links as items (so they are reported, not lost with their class) and ignores a self-link at the root with advice', () => {
    const warnings: string[] = [];
    expect(listDirs(ds.root, (m) => warnings.push(m))).toEqual(ds.classes);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`ignoring ${path.join(ds.root, 'everything')}: a symbolic link to the data folder itself`);
    expect(warnings[0]).toContain(`rm '${path.join(ds.root, 'everything')}'`);
    expect(listImages(path.join(ds.root, ds.classes[0]!))).toEqual(expect.arrayContaining(['loop.jpg', 'gone.jpg', 'notes.jpg']));
    // Under --skip-empty the class with the looping link keeps its good images.
    expect(readFolders(ds.root, { skipEmpty: true, onWarning: () => {} }).classes).toEqual(ds.classes);
  });

  it('the data bunch settles once: each bad file reported once by path, loaders and an index of every image see the same items', async () => {
    const reported: string[] = [];
    const warnings: string[] = [];
    const data = await imageDataBunch({ root: ds.root, size: 32, bs: 4, validPct: 0.25, preprocessing: IMAGENET, augment: false, onBadFile: (f) => reported.push(f), onWarning: (m) => warnings.push(m) });
    expect(reported.sort()).toEqual([...ds.bad.keys()].sort());
    expect(data.unreadable?.map((u) => u.path).sort()).toEqual([...ds.bad.keys()].sort());
    expect(data.classes).toEqual(ds.classes);
    const listed = [...data.train.items, ...data.valid.items];
    expect(listed.map((it) => it.path).sort()).toEqual(ds.good.slice().sort());
    // Every image embedded (here: its mean pixel as a 3-d vector) and indexed: as many vectors as table rows.
    const index = new ImageIndex(3);
    for (const loader of [data.train, data.valid]) {
      const seen: string[] = [];
      for await (const b of loader) {
        const v = tf.tidy(() => b.x.mean([1, 2]).arraySync() as number[][]);
        index.add(v, b.items.map((it) => ({ label: it.label, path: it.path })));
        seen.push(...b.items.map((it) => it.path));
        tf.dispose([b.x, b.y]);
      }
      // valid: every listed item, in order; train (shuffled, last partial batch dropped): whole batches of listed items.
      if (loader === data.valid) expect(seen).toEqual(loader.items.map((it) => it.path));
      else expect(seen.length).toBe(loader.length * 4);
      expect(seen.every((p) => ds.good.includes(p))).toBe(true);
    }
    expect(reported).toHaveLength(ds.bad.size);
    // A second bunch over the same files (a notebook's normalize, an export) reports nothing again.
    await imageDataBunch({ root: ds.root, size: 32, bs: 4, validPct: 0.25, preprocessing: IMAGENET, onBadFile: (f) => reported.push(f), onWarning: () => {} });
    expect(reported).toHaveLength(ds.bad.size);
  });

  it('a class left with no readable image is an error naming it, or skipped with a warning under skipEmpty', async () => {
    const root = path.join(tmp.dir, 'allbad');
    const src = await makeBadFilesDataset(path.join(tmp.dir, 'src2'), ['cat', 'dog', 'owl'], 3, 36);
    fs.mkdirSync(root);
    for (const c of ['cat', 'dog']) fs.cpSync(path.join(src.root, c), path.join(root, c), { recursive: true, verbatimSymlinks: true });
    const owl = path.join(root, 'owl');
    fs.mkdirSync(owl);
    fs.writeFileSync(path.join(owl, 'a.jpg'), 'not a photo');
    fs.writeFileSync(path.join(owl, 'b.jpg'), '');
    const opts = { root, size: 32, bs: 2, preprocessing: IMAGENET, onBadFile: () => {}, onWarning: () => {} };
    await expect(imageDataBunch(opts)).rejects.toThrow(`no readable training image for class 'owl' (2 files in ${owl}, none readable)`);
    const warnings: string[] = [];
    const data = await imageDataBunch({ ...opts, skipEmpty: true, onWarning: (m) => warnings.push(m) });
    expect(data.classes).toEqual(['cat', 'dog']);
    expect(warnings.join('\n')).toContain(`skipping class 'owl' (2 files in ${owl}, none readable)`);
  });

  it('settleReadable keeps the list order and costs one header read per file', async () => {
    const items = [...ds.good, ...ds.bad.keys()].map((p) => ({ path: p, label: 'x', split: 'train' as const }));
    const { readable, unreadable } = await settleReadable(items, { onBadFile: () => {} });
    expect(readable.map((it) => it.path)).toEqual(ds.good);
    expect(unreadable).toHaveLength(ds.bad.size);
  });
});
