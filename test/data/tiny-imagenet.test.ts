/**
 * `npm run data -- tiny-imagenet --from <archive>` rebuilds the shared real-photo folders byte for byte. The archive
 * is made here in Tiny ImageNet's own layout (tiny-imagenet-200/train/<wnid>/images/<wnid>_<N>.JPEG, wnids.txt,
 * words.txt) from a few of ../shared's photos per class, plus entries the command must leave out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTinyImagenet, TINY_IMAGENET_ANIMALS, TINY_IMAGENET_AWA2 } from '../../lib/data/tiny-imagenet';
import { runNode } from '../cli/run';
import { tempDir, TINY_IMAGENET } from '../helpers';

const { awa2: AWA2, animals: ANIMALS } = TINY_IMAGENET;
const have = fs.existsSync(AWA2) && fs.existsSync(ANIMALS);
if (!have) console.warn(`Skipping tiny-imagenet tests: ${AWA2} or ${ANIMALS} is missing (set DEVISE_SHARED).`);

/** Photos per class put in the archive (the real one has 500). */
const PER_CLASS = 3;
const tmp = tempDir('devise-tiny-');
afterAll(() => tmp.cleanup());

/** Files of a folder, recursively, as sorted relative paths. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

/** The shared photo `<label>_<10001+N>.jpg` as Tiny ImageNet's `<wnid>_<N>.JPEG`, for the first PER_CLASS photos of each class. */
function archiveFiles(): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const classes = [
    ...TINY_IMAGENET_AWA2.map((c) => ({ ...c, dir: path.join(AWA2, 'JPEGImages', c.label) })),
    ...TINY_IMAGENET_ANIMALS.map((c) => ({ ...c, dir: path.join(ANIMALS, c.label) })),
  ];
  for (const c of classes) {
    for (let n = 0; n < PER_CLASS; n++) {
      files[`tiny-imagenet-200/train/${c.wnid}/images/${c.wnid}_${n}.JPEG`] = fs.readFileSync(path.join(c.dir, `${c.label}_${10001 + n}.jpg`));
    }
    files[`tiny-imagenet-200/train/${c.wnid}/${c.wnid}_boxes.txt`] = Buffer.from(`${c.wnid}_0.JPEG\t0\t0\t63\t63\n`);
  }
  const koala = TINY_IMAGENET_ANIMALS[0]!;
  // Left out: an extra animal photo past the first 100, a class of neither set (goldfish), the val split.
  files[`tiny-imagenet-200/train/${koala.wnid}/images/${koala.wnid}_100.JPEG`] = files[`tiny-imagenet-200/train/${koala.wnid}/images/${koala.wnid}_0.JPEG`]!;
  files['tiny-imagenet-200/train/n01443537/images/n01443537_0.JPEG'] = Buffer.from('not kept');
  files['tiny-imagenet-200/val/images/val_0.JPEG'] = Buffer.from('not kept');
  const wnids = [...classes.map((c) => c.wnid), 'n01443537'];
  files['tiny-imagenet-200/wnids.txt'] = Buffer.from(wnids.map((w) => `${w}\n`).join(''));
  files['tiny-imagenet-200/words.txt'] = Buffer.from(wnids.map((w) => `${w}\tsome name\n`).join(''));
  return files;
}

/** Checks `out` against the shared folders: metadata byte for byte, exactly the expected photos, each byte for byte. */
function expectSameAsShared(out: string): void {
  const awa2 = path.join(out, 'tiny-imagenet-awa2');
  const animals = path.join(out, 'tiny-imagenet-animals');
  for (const f of ['classes.txt', 'trainclasses.txt', 'testclasses.txt', 'wnids.tsv']) {
    expect(fs.readFileSync(path.join(awa2, f)), f).toEqual(fs.readFileSync(path.join(AWA2, f)));
  }
  expect(fs.readFileSync(path.join(animals, 'wnids.tsv'))).toEqual(fs.readFileSync(path.join(ANIMALS, 'wnids.tsv')));
  const photos = (labels: readonly { label: string }[], sub: string) =>
    labels.flatMap((c) => Array.from({ length: PER_CLASS }, (_, n) => path.join(sub, c.label, `${c.label}_${10001 + n}.jpg`)));
  const wantAwa2 = photos(TINY_IMAGENET_AWA2, 'JPEGImages');
  const wantAnimals = photos(TINY_IMAGENET_ANIMALS, '');
  expect(tree(awa2).filter((f) => f.endsWith('.jpg'))).toEqual([...wantAwa2].sort());
  expect(tree(animals).filter((f) => f.endsWith('.jpg'))).toEqual([...wantAnimals].sort());
  for (const f of wantAwa2) expect(fs.readFileSync(path.join(awa2, f)).equals(fs.readFileSync(path.join(AWA2, f))), f).toBe(true);
  for (const f of wantAnimals) expect(fs.readFileSync(path.join(animals, f)).equals(fs.readFileSync(path.join(ANIMALS, f))), f).toBe(true);
}

describe.skipIf(!have)('npm run data -- tiny-imagenet', () => {
  const files = have ? archiveFiles() : {};
  const zip = path.join(tmp.dir, 'tiny-imagenet-200.zip');
  if (have) fs.writeFileSync(zip, zipSync(files, { level: 6 }));

  it('from a zip in Tiny ImageNet layout: the shared AWA2-layout folder and the extra animals, byte for byte', () => {
    const out = path.join(tmp.dir, 'from-zip');
    const r = runNode('utils/data.ts', ['tiny-imagenet', '--from', zip, '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { count: number };
    expect(report.count).toBe((TINY_IMAGENET_AWA2.length + TINY_IMAGENET_ANIMALS.length) * PER_CLASS);
    expectSameAsShared(out);
    // A second build into the same folder refuses without --force, and with it gives the same result.
    const again = runNode('utils/data.ts', ['tiny-imagenet', '--from', zip, '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toMatch(/tiny-imagenet-awa2 already exists: remove it or pass --force/);
    expect(runNode('utils/data.ts', ['tiny-imagenet', '--from', zip, '--out', out, '--force']).status).toBe(0);
    expectSameAsShared(out);
  });

  it('from the extracted folder: the same files', async () => {
    const folder = path.join(tmp.dir, 'extracted');
    for (const [name, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
      fs.writeFileSync(path.join(folder, name), bytes);
    }
    const out = path.join(tmp.dir, 'from-folder');
    await buildTinyImagenet({ from: folder, out });
    expectSameAsShared(out);
  });

  it('an archive without one of the classes: one line naming it, nothing written', () => {
    const pig = TINY_IMAGENET_AWA2.find((c) => c.label === 'pig')!;
    const partial = Object.fromEntries(Object.entries(files).filter(([name]) => !name.includes(`/${pig.wnid}/`)));
    const zip2 = path.join(tmp.dir, 'no-pig.zip');
    fs.writeFileSync(zip2, zipSync(partial));
    const out = path.join(tmp.dir, 'no-pig');
    const r = runNode('utils/data.ts', ['tiny-imagenet', '--from', zip2, '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/no photos for 1 class\(es\): pig \(n02395406\)/);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('a file that is not a zip: one line saying so', () => {
    const bad = path.join(tmp.dir, 'bad.zip');
    fs.writeFileSync(bad, 'not a zip at all, just text that is long enough to look like something');
    const r = runNode('utils/data.ts', ['tiny-imagenet', '--from', bad, '--out', path.join(tmp.dir, 'bad')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')[0]).toContain(bad);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
