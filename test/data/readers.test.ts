import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAwa2, readClassList } from '../../lib/data/awa2';
import { readFolders } from '../../lib/data/folders';
import { displayName, firstPerClass, splitItems } from '../../lib/data/items';
import { SHARED, tempDir } from '../helpers';

const META = path.join(SHARED, 'data', 'awa2-meta');
const { dir, cleanup } = tempDir('devise-readers-');
afterAll(cleanup);

describe.skipIf(!fs.existsSync(META))('readAwa2 on the real AWA2 metadata (../shared/data/awa2-meta)', () => {
  it('reads 50 classes, 40 train and 10 test classes exactly', () => {
    const awa = readAwa2(META);
    expect(awa.classes).toHaveLength(50);
    expect(awa.trainClasses).toHaveLength(40);
    expect(awa.testClasses).toHaveLength(10);
    expect(awa.classes.slice(0, 3)).toEqual(['antelope', 'grizzly+bear', 'killer+whale']);
    expect(awa.classes[49]).toBe('dolphin');
    expect(awa.testClasses).toEqual(['chimpanzee', 'giant+panda', 'leopard', 'persian+cat', 'pig', 'hippopotamus', 'humpback+whale', 'raccoon', 'rat', 'seal']);
    expect(new Set([...awa.trainClasses, ...awa.testClasses])).toEqual(new Set(awa.classes));
    expect(awa.items).toEqual([]); // metadata only: no JPEGImages/
    // classes.txt really is '<spaces><index>\t<name>'; the reader strips both.
    expect(fs.readFileSync(path.join(META, 'classes.txt'), 'utf8')).toMatch(/^ +1\tantelope\n/);
    expect(readClassList(path.join(META, 'classes.txt')).every((c) => /^[a-z+]+$/.test(c))).toBe(true);
  });

  it('names the file and line of a malformed class list', () => {
    const f = path.join(dir, 'bad.txt');
    fs.writeFileSync(f, '1\tantelope\n2\tgrizzly bear extra\n');
    expect(() => readClassList(f)).toThrow(/bad\.txt:2/);
  });
});

describe('readFolders / splitItems / displayName', () => {
  it('reads train/valid/test class folders; an empty train class folder is a clear error', () => {
    const root = path.join(dir, 'folders');
    for (const [split, cls, n] of [['train', 'fox', 3], ['train', 'grizzly+bear', 2], ['valid', 'fox', 1], ['test', 'seal', 2]] as const) {
      fs.mkdirSync(path.join(root, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) fs.writeFileSync(path.join(root, split, cls, `${cls}_${i}.jpg`), 'x');
    }
    fs.writeFileSync(path.join(root, 'train', 'fox', 'notes.txt'), 'ignored');
    const ds = readFolders(root);
    expect(ds.classes).toEqual(['fox', 'grizzly+bear']);
    expect(ds.testClasses).toEqual(['seal']);
    expect(ds.items.map((it) => `${it.split}:${it.label}`).sort()).toEqual(['test:seal', 'test:seal', 'train:fox', 'train:fox', 'train:fox', 'train:grizzly+bear', 'train:grizzly+bear', 'valid:fox']);
    fs.mkdirSync(path.join(root, 'train', 'zebra'));
    expect(() => readFolders(root)).toThrow(/class folder .*train\/zebra has no images/);
    expect(() => readFolders(path.join(dir, 'nowhere'))).toThrow(/nowhere does not exist/);
    const warnings: string[] = [];
    expect(readFolders(root, { skipEmpty: true, onWarning: (m) => warnings.push(m) }).classes).toEqual(['fox', 'grizzly+bear']);
    expect(warnings).toEqual([expect.stringMatching(/skipping class folder .*train\/zebra has no images/)]);
  });

  it.skipIf(!fs.existsSync(path.join(SHARED, 'data', 'cifar10-sample')))('reads <root>/<class>/*.jpg with no split folders (the real CIFAR-10 sample), also through a symlink', () => {
    const cifar = path.join(SHARED, 'data', 'cifar10-sample');
    const ds = readFolders(cifar);
    expect(ds.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(ds.items).toHaveLength(1500);
    expect(ds.items.every((it) => it.split === 'train')).toBe(true);
    const linked = path.join(dir, 'linked');
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(cifar, 'cat'), path.join(linked, 'cat'));
    expect(readFolders(linked).items).toHaveLength(150);
  });

  it('splitItems is stratified, seeded and deterministic', () => {
    const items = ['a', 'b'].flatMap((label) => Array.from({ length: 20 }, (_, i) => ({ path: `/x/${label}/${i}.jpg`, label, split: 'train' as const })));
    const s1 = splitItems(items, 0.2, 1);
    expect(s1.valid.filter((it) => it.label === 'a')).toHaveLength(4);
    expect(s1.valid.filter((it) => it.label === 'b')).toHaveLength(4);
    expect(s1.valid.every((it) => it.split === 'valid')).toBe(true);
    expect(splitItems(items.slice().reverse(), 0.2, 1).valid.map((it) => it.path).sort()).toEqual(s1.valid.map((it) => it.path).sort());
    expect(splitItems(items, 0.2, 2).valid.map((it) => it.path).sort()).not.toEqual(s1.valid.map((it) => it.path).sort());
  });

  it('firstPerClass keeps the first n files of each class in path order, whatever the input order', () => {
    const items = ['a', 'b'].flatMap((label) => Array.from({ length: 12 }, (_, i) => ({ path: `/x/${label}/${String(i).padStart(2, '0')}.jpg`, label, split: 'train' as const })));
    const kept = firstPerClass(items.slice().reverse(), 3);
    expect(kept.map((it) => it.path).sort()).toEqual(['/x/a/00.jpg', '/x/a/01.jpg', '/x/a/02.jpg', '/x/b/00.jpg', '/x/b/01.jpg', '/x/b/02.jpg']);
    expect(firstPerClass(items, 50)).toHaveLength(24);
    expect(() => firstPerClass(items, 0)).toThrow(/perClass must be a whole number/);
  });

  it('displayName turns AWA2 + into spaces', () => {
    expect(displayName('grizzly+bear')).toBe('grizzly bear');
    expect(displayName('fox')).toBe('fox');
  });
});
