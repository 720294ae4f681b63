// An image damaged mid-file: the probe passes it (header and end marker intact), decoding fails. The first decode
// that fails reports it once by path and every consumer then works on the same list: the loader drops it after its
// pass, a second loader (embedImages) neither reports it again nor yields a row for it, export's embedFiles leaves
// it out, and a bunch built later in the process settles it as unreadable.
//   npx vitest run test/data/damaged.test.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { decodeImage } from '../../lib/data/augment';
import type { Item } from '../../lib/data/items';
import { ImageLoader, imageDataBunch } from '../../lib/data/loader';
import { dropUnreadable, isUnreadable, probeImage } from '../../lib/data/readable';
import { embedFiles } from '../../lib/export/run';
import { IMAGENET } from '../../lib/preprocessing';
import { tempDir } from '../helpers';
import { type BadFilesDataset, makeBadFilesDataset } from './bad-files';

const tmp = tempDir('devise-damaged-');
afterAll(() => tmp.cleanup());
let ds: BadFilesDataset;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  ds = await makeBadFilesDataset(path.join(tmp.dir, 'data'), ['fox', 'otter', 'zebra'], 6, 40, { damaged: true });
});

/** Every batch of one pass, with the rows it yields. */
async function pass(loader: ImageLoader): Promise<{ rows: number; items: Item[] }> {
  let rows = 0;
  const items: Item[] = [];
  for await (const b of loader) {
    rows += b.x.shape[0];
    items.push(...b.items);
    tf.dispose([b.x, b.y]);
  }
  return { rows, items };
}

describe('an image damaged mid-file', () => {
  it('passes the probe and fails to decode (what makes it a decode-time failure)', async () => {
    expect(await probeImage(ds.damaged!)).toBeNull();
    await expect(decodeImage(ds.damaged!, 32)).rejects.toThrow(/VipsJpeg/);
  });

  it('is reported once by path; after the pass that met it, every list, row set and later bunch agrees without it', async () => {
    const reported: string[] = [];
    const reasons: string[] = [];
    const onBadFile = (f: string, why: string) => {
      reported.push(f);
      reasons.push(why);
    };
    const data = await imageDataBunch({ root: ds.root, size: 32, bs: 4, validPct: 0.3, seed: 0, preprocessing: IMAGENET, augment: false, onBadFile });
    expect(reported.sort()).toEqual([...ds.bad.keys()].sort()); // the probe's catches; the damaged one is not among them
    reported.length = 0;
    const all = [...data.train.items, ...data.valid.items];
    expect(all.map((it) => it.path)).toContain(ds.damaged);
    const where = data.train.items.some((it) => it.path === ds.damaged) ? data.train : data.valid;
    const before = where.items.length;
    const seen = await pass(where as ImageLoader);
    expect(reported).toEqual([ds.damaged]);
    expect(reasons.at(-1)).toMatch(/^damaged inside: its header and end look whole but decoding failed/); // what and what to do
    // The loader's list (the bunch's) lost it at the end of the pass: rows and items agree.
    expect(where.items).toHaveLength(before - 1);
    expect(seen.rows).toBe(where.items.length);
    expect(seen.items.map((it) => it.path)).toEqual(where.items.map((it) => it.path));
    expect(isUnreadable(ds.damaged!)).toBe(true);
    // A second loader over a list that still holds it (embedImages over the caller's items): no report, no row,
    // and the caller's list is left with exactly the items it got rows for.
    const list = [...all];
    const again = await pass(new ImageLoader(list, { classes: data.classes, size: 32, bs: 4, preprocessing: IMAGENET, badFiles: new Map(), onBadFile }));
    expect(reported).toEqual([ds.damaged]);
    expect(again.rows).toBe(all.length - 1);
    expect(list.map((it) => it.path)).toEqual(again.items.map((it) => it.path));
    // export's embedFiles (its own decoder) leaves it out as well: dropUnreadable gives the items of its rows.
    const files = [...all];
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 3, kernelInitializer: 'ones' })] });
    const [rows] = await embedFiles([model], files.map((it) => it.path), 32, IMAGENET, 4);
    model.dispose();
    expect(dropUnreadable(files)).toBe(1);
    expect(rows).toHaveLength(files.length);
    // A bunch built later in this process (export's runItems, the app) settles it with the probe's catches.
    const later = await imageDataBunch({ root: ds.root, size: 32, bs: 4, validPct: 0.3, seed: 0, preprocessing: IMAGENET, augment: false, onBadFile });
    expect([...later.train.items, ...later.valid.items].map((it) => it.path)).not.toContain(ds.damaged);
    expect(later.unreadable?.find((u) => u.path === ds.damaged)?.reason).toMatch(/^damaged inside: its header and end look whole but decoding failed \(.+\): re-download or re-copy it$/);
    expect(reported).toEqual([ds.damaged]); // still once
    expect(fs.existsSync(ds.damaged!)).toBe(true); // never deleted: left out and named
  });
});
