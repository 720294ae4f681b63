/**
 * The static search app: its pure preprocessing and search (against sharp and brute force), the browser code's
 * types, and a real headless Chromium at 390×844 against the built app on 127.0.0.1 (and from file://):
 * uploading a data_samples image gives the library's nearest label, typing an unseen class shows images, no
 * console errors, no request leaves 127.0.0.1. Load time and query latency are printed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { applyTransforms, CENTER, decodeImage } from '../../lib/data/augment';
import { argmaxCosine, embedFiles } from '../../lib/export/run';
import { embeddingCheckpoint, readRun, runItems } from '../../lib/run-folder';
import { loadModel } from '../../lib/models/index';
import { browserAvailable } from '../../lib/plots/render';
import { buildApp, type AppBuild } from '../../web/build';
import { centerCropRgb, cosineTopK, findLabel, normalizeRows, outsideSize, rgbaToRgbOnWhite } from '../../web/src/core';
import { driveApp } from '../../web/drive';
import { serveStatic } from '../../web/serve';
import { fixtureRun } from '../export/fixture';
import { ROOT, tempDir } from '../helpers';

const tmp = tempDir('devise-web-');
afterAll(() => tmp.cleanup());

describe('app core', () => {
  it('center crop equals the library pipeline at the native size, and is within rounding of sharp when resizing', async () => {
    const sample = path.join(ROOT, 'data_samples/JPEGImages/seal/seal_10001.jpg');
    const wide = path.join(tmp.dir, 'wide.png'); // non-square, with transparency
    await sharp(sample).resize(150, 100, { fit: 'fill' }).ensureAlpha(0.6).png().toFile(wide);
    for (const [file, size] of [[sample, 128], [sample, 64], [sample, 224], [wide, 224], [wide, 64]] as const) {
    const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const rgb = rgbaToRgbOnWhite(data);
      const lib = applyTransforms(await decodeImage(file, size), size, CENTER);
      const ours = centerCropRgb(rgb, info.width, info.height, size);
      let sum = 0;
      let max = 0;
      lib.forEach((v, i) => {
        const d = Math.abs(v - ours[i]!);
        sum += d;
        max = Math.max(max, d);
      });
      console.log(`[web] ${info.width}×${info.height} → ${size}px: mean |Δpixel| ${(sum / lib.length).toFixed(3)}, max ${max}`);
      if (size === info.width) expect(max).toBe(0);
      else {
        expect(sum / lib.length).toBeLessThan(0.3); // libvips works in fixed point: rounding differs by 1-2 levels
        expect(max).toBeLessThanOrEqual(4);
      }
    }
    expect(outsideSize(300, 200, 224)).toEqual([336, 224]);
  });

  it('cosine top-k equals brute force; words find labels', () => {
    const dim = 7;
    const table = normalizeRows(Float32Array.from({ length: 50 * dim }, (_, i) => Math.sin(i * 1.7)), dim);
    const q = Array.from({ length: dim }, (_, i) => Math.cos(i));
    const hits = cosineTopK(q, table, dim, 5);
    const brute = Array.from({ length: 50 }, (_, r) => {
      const row = table.subarray(r * dim, (r + 1) * dim);
      return { r, s: row.reduce((s, v, j) => s + v * q[j]!, 0) / Math.hypot(...q) };
    }).sort((a, b) => b.s - a.s);
    expect(hits.map((h) => h.index)).toEqual(brute.slice(0, 5).map((b) => b.r));
    expect(hits[0]!.score).toBeCloseTo(brute[0]!.s, 6);
    const shifted = cosineTopK(q, table, dim, 5, undefined, (i) => (i === brute[4]!.r ? 1 : 0));
    expect(shifted[0]!.index).toBe(brute[4]!.r); // calibrated stacking: a shift moves a row up
    expect(cosineTopK(q, table, dim, 3, (i) => i === brute[0]!.r)[0]!.index).toBe(brute[1]!.r);
    expect(findLabel('Grizzly Bear ', ['cow', 'grizzly+bear'])).toBe(1);
    expect(findLabel('car', ['cow'])).toBe(-1);
  });

  it('the browser sources type-check with the DOM library', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', path.join(ROOT, 'web')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});

describe.skipIf(!browserAvailable())('app in headless Chromium (390×844)', () => {
  let app: AppBuild;
  let run: string;
  let image: string;
  let expected: string;
  let unseenWord: string;

  beforeAll(async () => {
    await initBackend();
    run = await fixtureRun();
    // fp32: the browser must give exactly the library model's nearest label (uint8 is compared in test/export).
    app = await buildApp({ run, out: path.join(tmp.dir, 'app'), quantize: 'none' });
    const { info, labels } = await readRun(run);
    const items = await runItems(info);
    image = items.test[0]!.path; // an unseen-class image
    unseenWord = info.testClasses[0]!.replace(/\+/g, ' ');
    const cnn = await loadModel(await embeddingCheckpoint(run));
    const [[emb]] = (await embedFiles([cnn.model], [image], cnn.inputSize, cnn.preprocessing)) as [Float32Array[]];
    cnn.model.dispose();
    expected = labels.classes[argmaxCosine(emb!, Float32Array.from(labels.vectors.flat()), labels.dim)]!;
  }, 600_000);

  it('over http on 127.0.0.1: upload → the library top-1, unseen word → images, no console errors, nothing leaves 127.0.0.1', async () => {
    const server = await serveStatic(app.out);
    try {
      const r = await driveApp({ url: server.url, image, word: unseenWord });
      console.log(`[web] http ${r.backend}: load ${r.loadMs.toFixed(0)} ms, image query ${r.imageQueryMs.toFixed(0)} ms, text query ${r.textQueryMs.toFixed(2)} ms; top-5 ${r.top5.map((t) => t.label).join(', ')} (library: ${expected}); model ${app.export.model.bytes} bytes`);
      expect(r.consoleErrors).toEqual([]);
      expect(r.outsideRequests).toEqual([]);
      expect(r.top5).toHaveLength(5);
      expect(r.top5[0]!.label).toBe(expected);
      expect(r.imageNeighbours[0]!.score).toBeGreaterThan(0.999); // the image itself is in the table
      expect(r.shownTextLabels.length).toBeGreaterThan(0);
      expect(r.unseenOnly).toHaveLength(5);
      expect(r.unseenOnly.every((l) => !l.seen)).toBe(true);
      expect(server.requests.every((p) => !p.includes('..'))).toBe(true);
    } finally {
      await server.close();
    }
  }, 300_000);

  it('from file:// (the inlined export bundle), the image dragged in', async () => {
    const r = await driveApp({ url: `file://${path.join(app.out, 'index.html')}`, image, word: unseenWord, drop: true });
    console.log(`[web] file:// ${r.backend}: load ${r.loadMs.toFixed(0)} ms, image query ${r.imageQueryMs.toFixed(0)} ms`);
    expect(r.consoleErrors).toEqual([]);
    expect(r.outsideRequests).toEqual([]);
    expect(r.top5[0]!.label).toBe(expected);
    expect(fs.existsSync(path.join(app.out, 'export', 'bundle.js'))).toBe(true);
  }, 300_000);

  it('npm run bench -- app --json reports loadMs, queryMs and modelBytes', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/index.ts'), 'app', '--run', run, '--queries', '2', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { loadMs: number; queryMs: number; modelBytes: number; quantize: string; queries: number };
    console.log(`[web] bench app: ${JSON.stringify(j)}`);
    expect(j.quantize).toBe('uint8');
    expect(j.queries).toBe(2);
    expect(j.loadMs).toBeGreaterThan(0);
    expect(j.queryMs).toBeGreaterThan(0);
    expect(j.modelBytes).toBeGreaterThan(1e6);
    expect(j.modelBytes).toBeLessThan(1.6e6);
  }, 300_000);
});
