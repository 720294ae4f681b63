// The app's gallery stays phone-sized: on a generated AWA2-shaped tree of a few hundred images, the export inlines a
// thumbnail for at most `galleryPerClass` images per class, the index still holds every image (a search finds an
// image outside the gallery, shown by its file name), and the page says how many of its images have thumbnails.
//   npx vitest run test/web/gallery.test.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWA2_STANDARD_TEST, makeAwa2Tree } from '../../bench/support/awa2-tree';
import { initBackend } from '../../lib/backend/index';
import { readAwa2 } from '../../lib/data/awa2';
import { Rng } from '../../lib/data/rng';
import { DEFAULTS } from '../../lib/defaults';
import { type ExportImageTable, int8Rows } from '../../lib/export/run';
import { createModel, saveModel } from '../../lib/models/index';
import { browserAvailable } from '../../lib/plots/render';
import type { LabelTable, RunFile } from '../../lib/run-folder';
import { buildApp, type AppBuild } from '../../web/build';
import { driveApp } from '../../web/drive';
import { serveStatic } from '../../web/serve';
import { cosineTopK, normalizeRows, rowsFromInt8 } from '../../web/src/core';
import { tempDir } from '../helpers';

const tmp = tempDir('devise-gallery-');
afterAll(() => tmp.cleanup());

const IMAGES = 400;
const PER_CLASS = 3;
const SIZE = 32;
const DIM = 16;

/** A stage-2 run folder over `data` (random SqueezeNet weights, random label vectors): export only needs its shape. */
async function generatedRun(data: string, dir: string): Promise<void> {
  const awa = readAwa2(data);
  const cnn = await createModel('squeezenet1_1', { head: 'embedding', dim: DIM, inputSize: SIZE, seed: 1 });
  const all = [...awa.trainClasses, ...awa.testClasses];
  const rng = new Rng(3);
  const labels: LabelTable = { source: 'random', dim: DIM, classes: all, seen: all.map((c) => awa.trainClasses.includes(c)), vectors: all.map(() => Array.from({ length: DIM }, () => rng.next() - 0.5)) };
  const info: RunFile = { format: 'devise-ts-run-1', arch: 'squeezenet1_1', size: SIZE, seed: 0, validPct: 0.2, labels: 'random', data, classes: awa.trainClasses, testClasses: awa.testClasses, preprocessing: cnn.preprocessing, phases: { stage2b: 'done' } };
  await saveModel(cnn, path.join(dir, 'models', 'stage2b'));
  cnn.model.dispose();
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info, null, 2));
  fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(labels));
}

describe('the app gallery at scale', () => {
  let app: AppBuild;
  let table: ExportImageTable;
  let counts: Map<string, number>;

  beforeAll(async () => {
    await initBackend();
    const data = path.join(tmp.dir, 'awa2');
    await makeAwa2Tree(data, { images: IMAGES, scale: 0.1 });
    counts = new Map();
    for (const it of readAwa2(data).items) counts.set(it.label, (counts.get(it.label) ?? 0) + 1);
    const run = path.join(tmp.dir, 'run');
    await generatedRun(data, run);
    // The cap is the export's option; the app's default comes from the defaults table.
    app = await buildApp({ run, out: path.join(tmp.dir, 'app'), quantize: 'uint8', galleryPerClass: PER_CLASS });
    table = JSON.parse(fs.readFileSync(path.join(app.export.dir, 'images.json'), 'utf8')) as ExportImageTable;
  }, 300_000);

  it('thumbnails at most galleryPerClass images per class, every class in the gallery, every image in the index', () => {
    expect(DEFAULTS.app.galleryPerClass).toBeGreaterThan(0);
    expect(table.rows).toHaveLength(IMAGES);
    expect(fs.statSync(path.join(app.export.dir, 'images.bin')).size).toBe(IMAGES * table.dim); // int8: a byte per value
    const thumbs = new Map<string, number>();
    for (const r of table.rows) if (r.thumb) thumbs.set(r.label, (thumbs.get(r.label) ?? 0) + 1);
    for (const [label, n] of counts) expect(thumbs.get(label)).toBe(Math.min(PER_CLASS, n));
    const expected = [...counts.values()].reduce((s, n) => s + Math.min(PER_CLASS, n), 0);
    expect(app.export.thumbnails).toBe(expected);
    expect(JSON.parse(fs.readFileSync(path.join(app.export.dir, 'export.json'), 'utf8'))).toMatchObject({ images: IMAGES, gallery: { perClass: PER_CLASS, thumbnails: expected } });
  });

  it('int8 index rows keep the cosine of the float embeddings (within 1e-3 at 300-d)', () => {
    const dim = 300;
    const float = Array.from({ length: 40 }, (_, i) => Float32Array.from({ length: dim }, (_, j) => Math.sin(i * 1.3 + j * 0.7) * (1 + (j % 5))));
    const rows = rowsFromInt8(new Uint8Array(int8Rows(float, dim).buffer), dim);
    const unit = normalizeRows(Float32Array.from(float.flatMap((r) => [...r])), dim);
    for (let a = 0; a < 40; a += 7) {
      for (let b = 0; b < 40; b += 3) {
        let exact = 0;
        let approx = 0;
        for (let j = 0; j < dim; j++) {
          exact += unit[a * dim + j]! * unit[b * dim + j]!;
          approx += rows[a * dim + j]! * rows[b * dim + j]!;
        }
        expect(Math.abs(exact - approx)).toBeLessThan(1e-3);
      }
    }
  });

  it('bytes grow with the gallery, not with the images: a row outside it costs under 150 bytes of images.json', () => {
    const bytes = fs.statSync(path.join(app.export.dir, 'images.json')).size;
    const thumbBytes = table.rows.reduce((s, r) => s + (r.thumb?.length ?? 0), 0);
    const perRow = (bytes - thumbBytes) / table.rows.length;
    const perThumb = thumbBytes / app.export.thumbnails;
    // At AWA2's size with the default cap: what the app's images.json would weigh.
    const awa2MB = (37_322 * perRow + 50 * DEFAULTS.app.galleryPerClass * perThumb) / 1e6;
    console.log(`[gallery] ${IMAGES} images, ${app.export.thumbnails} thumbnails: images.json ${bytes} B (${perRow.toFixed(0)} B per row + ${perThumb.toFixed(0)} B per thumbnail); at 37,322 images and ${DEFAULTS.app.galleryPerClass} per class ≈ ${awa2MB.toFixed(1)} MB`);
    expect(perRow).toBeLessThan(150);
    expect(awa2MB).toBeLessThan(8);
  });

  it('a search finds an image outside the gallery (node scan of the exported index, as the app decodes it)', () => {
    const rows = rowsFromInt8(fs.readFileSync(path.join(app.export.dir, 'images.bin')), table.dim);
    const outside = table.rows.findIndex((r) => !r.thumb && AWA2_STANDARD_TEST.includes(r.label));
    expect(outside).toBeGreaterThanOrEqual(0);
    const [hit] = cosineTopK(rows.subarray(outside * table.dim, (outside + 1) * table.dim), rows, table.dim, 1);
    expect(hit!.index).toBe(outside);
  });

  it.skipIf(!browserAvailable())('the page says how many images have thumbnails; an image outside the gallery is found (its own nearest hit, no thumbnail)', async () => {
    const server = await serveStatic(app.out);
    try {
      const unseen = table.rows.find((r) => !r.thumb && AWA2_STANDARD_TEST.includes(r.label))!;
      const image = path.join(tmp.dir, 'awa2', 'JPEGImages', unseen.label, unseen.file);
      const r = await driveApp({ url: server.url, image, word: unseen.label.replace(/\+/g, ' ') });
      console.log(`[gallery] status: ${r.status}`);
      expect(r.consoleErrors).toEqual([]);
      expect(r.status).toContain(`searching ${IMAGES} images; thumbnails for ${app.export.thumbnails} of them`);
      // The uploaded image is itself in the index, outside the gallery: its own nearest neighbour, without a thumbnail.
      expect(r.imageNeighbours[0]!.score).toBeGreaterThan(0.999);
      expect(r.imageNeighbours[0]!.thumb).toBe(false);
      expect(r.textImages).toHaveLength(8);
    } finally {
      await server.close();
    }
  }, 300_000);
});
