import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../lib/backend/index';
import { readAwa2 } from '../../lib/data/awa2';
import { imageDataBunch } from '../../lib/data/loader';
import { IMAGENET } from '../../lib/preprocessing';
import { ROOT, SHARED, runTs, tempDir } from '../helpers';

const SAMPLES = path.join(ROOT, 'data_samples');
const { dir, cleanup } = tempDir('devise-samples-');
afterAll(cleanup);
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('data_samples (committed, offline)', () => {
  const awa = readAwa2(SAMPLES);

  it('is in the AWA2 layout: 50 classes listed, ≥30 classes with ≥5 distinct images, test classes among them', async () => {
    expect(awa.classes).toHaveLength(50);
    const meta = path.join(SHARED, 'data', 'awa2-meta');
    if (fs.existsSync(meta)) {
      expect(fs.readFileSync(path.join(SAMPLES, 'classes.txt'), 'utf8')).toBe(fs.readFileSync(path.join(meta, 'classes.txt'), 'utf8'));
      const real = readAwa2(meta);
      expect(awa.trainClasses.every((c) => real.trainClasses.includes(c))).toBe(true);
      expect(awa.testClasses.every((c) => real.testClasses.includes(c))).toBe(true);
    }
    const byClass = new Map<string, string[]>();
    for (const it of awa.items) byClass.set(it.label, [...(byClass.get(it.label) ?? []), it.path]);
    const full = [...byClass].filter(([, files]) => new Set(files.map(sha)).size >= 5);
    expect(full.length).toBeGreaterThanOrEqual(30);
    expect(awa.testClasses.filter((c) => (byClass.get(c)?.length ?? 0) >= 5).length).toBeGreaterThanOrEqual(3);
    for (const [label, files] of byClass) for (const f of files) expect(path.basename(f)).toMatch(new RegExp(`^${label.replace('+', '\\+')}_1\\d{4}\\.jpg$`));
    for (const f of awa.items.slice(0, 40).map((it) => it.path)) expect(await sharp(f).metadata()).toMatchObject({ width: 128, height: 128, format: 'jpeg' });
    const manifest = fs.readFileSync(path.join(SAMPLES, 'manifest.tsv'), 'utf8').trim().split('\n').slice(1);
    expect(manifest.map((l) => path.join(SAMPLES, l.split('\t')[0]!)).sort()).toEqual(awa.items.map((it) => it.path).sort());
    expect(fs.readFileSync(path.join(SAMPLES, 'README.md'), 'utf8')).toMatch(/CC-BY-4\.0/);
  });

  it('loads with imageDataBunch as an AWA2 root (train/valid from trainclasses, test from testclasses)', async () => {
    await initBackend({ backend: 'cpu' });
    const data = await imageDataBunch({ root: SAMPLES, size: 64, bs: 8, preprocessing: IMAGENET, seed: 1 });
    expect(data.classes).toEqual(awa.trainClasses);
    expect(data.testClasses).toEqual(awa.testClasses);
    expect(data.train.items.length + data.valid.items.length).toBe(awa.items.filter((it) => it.split === 'train').length);
    for await (const b of data.train) {
      expect(b.x.shape).toEqual([8, 64, 64, 3]);
      tf.dispose([b.x, b.y]);
      break;
    }
  });

  it.skipIf(!fs.existsSync(path.join(ROOT, 'node_modules', 'fluentui-emoji')))('npm run make-samples rebuilds the committed files byte for byte', () => {
    const out = path.join(dir, 'rebuilt');
    const res = runTs('utils/make-samples.ts', ['--out', out]);
    expect(res.status, res.stderr).toBe(0);
    const list = (root: string) => fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name !== 'README.md').map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();
    const files = list(SAMPLES);
    expect(list(out)).toEqual(files);
    for (const f of files) expect(sha(path.join(out, f)), f).toBe(sha(path.join(SAMPLES, f)));
  });
});
