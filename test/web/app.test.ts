/**
 * The static search app: its pure preprocessing and search (against sharp and brute force), the browser code's
 * types, and a real headless Chromium at 390×844 against the built app on 127.0.0.1 (and from file://):
 * uploading a data_samples image gives the library's nearest label, typing an unseen class shows images, no
 * console errors, no request leaves 127.0.0.1. Served, the page is cross-origin isolated and wasm runs with
 * threads; from file:// it still answers, single-threaded; only one wasm binary is read either way. On every
 * backend the page can start, its nearest labels agree with the library's (fp32: all, uint8: ≥ 95 %).
 * Load time and query latency are printed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { applyTransforms, CENTER, decodeImage } from '../../lib/data/augment';
import { loadExportedModel } from '../../lib/export/model';
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
    // Photos larger than the input, cropped across (landscape) and down (portrait): the app resizes only the crop's window.
    const landscape = path.join(tmp.dir, 'landscape.png');
    const portrait = path.join(tmp.dir, 'portrait.png');
    await sharp(sample).resize(500, 375, { fit: 'fill' }).png().toFile(landscape);
    await sharp(sample).resize(300, 450, { fit: 'fill' }).png().toFile(portrait);
    for (const [file, size] of [[sample, 128], [sample, 64], [sample, 224], [wide, 224], [wide, 64], [landscape, 224], [portrait, 224], [portrait, 112]] as const) {
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
      // Cross-origin isolated, so the threaded-SIMD wasm build runs with more than one thread; one binary fetched.
      expect(r.isolated).toBe(true);
      expect(server.requests.filter((p) => p.endsWith('.wasm'))).toEqual(r.backend === 'wasm' ? ['/tfjs-backend-wasm-threaded-simd.wasm'] : []);
      if (r.backend === 'wasm') expect(r.threads).toBeGreaterThan(1);
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
    // No isolation from file://: one thread, and only the one wasm script this browser runs is read.
    expect(r.isolated).toBe(false);
    if (r.backend === 'wasm') {
      expect(r.threads).toBe(1);
      expect(r.requested.filter((u) => /wasm/.test(path.basename(u)))).toEqual([`file://${path.join(app.out, 'wasm', 'tfjs-backend-wasm-simd.wasm.js')}`]);
    }
  }, 300_000);

  // Browser numerics against the library on the same model: the page's nearest label (all labels, no calibration)
  // of data_samples images, per backend the page can start. fp32 against the run's checkpoint; uint8 against the
  // library running the same uint8 export (the quantisation's own cost is test/export's).
  it('on every backend the page can start, nearest labels agree with the library (fp32: 100 %, uint8: ≥ 95 %)', async () => {
    const { info, labels } = await readRun(run);
    const items = await runItems(info);
    const files = [...items.test, ...items.valid].filter((_, i) => i % 4 === 0).map((it) => it.path); // a quarter: ~23 images
    const table = Float32Array.from(labels.vectors.flat());
    const uint8 = await buildApp({ run, out: path.join(tmp.dir, 'app-uint8'), quantize: 'uint8' });
    const cnn = await loadModel(await embeddingCheckpoint(run));
    const exported = await loadExportedModel(path.join(uint8.export.dir, 'model'));
    const [fp32Emb, uint8Emb] = await embedFiles([cnn.model, exported], files, cnn.inputSize, cnn.preprocessing);
    cnn.model.dispose();
    exported.dispose();
    const library: Record<'none' | 'uint8', Float32Array[]> = { none: fp32Emb!, uint8: uint8Emb! };
    const ran: string[] = [];
    for (const [quantize, dir] of [['none', app.out], ['uint8', uint8.out]] as const) {
      const expectedLabels = library[quantize]!.map((e) => labels.classes[argmaxCosine(e, table, labels.dim)]!);
      const server = await serveStatic(dir);
      try {
        for (const backend of ['webgpu', 'webgl', 'wasm']) {
          let r;
          try {
            r = await driveApp({ url: server.url, image, word: unseenWord, backend, classify: files });
          } catch (err) {
            if (/could not start/.test((err as Error).message) && backend !== 'wasm') {
              console.log(`[web] ${backend}: not available in this browser (${(err as Error).message.split('\n')[0]})`);
              continue;
            }
            throw err;
          }
          const agree = r.classified.filter((l, i) => l === expectedLabels[i]).length / files.length;
          console.log(`[web] ${quantize} on ${r.backend}${r.threads ? ` (${r.threads} threads)` : ''}: ${(agree * 100).toFixed(1)} % of ${files.length} nearest labels equal the library's`);
          ran.push(`${quantize}:${r.backend}`);
          expect(r.backend).toBe(backend);
          expect(r.consoleErrors).toEqual([]);
          if (backend === 'wasm') expect(r.threads).toBeGreaterThan(1);
          expect(agree).toBeGreaterThanOrEqual(quantize === 'none' ? 1 : 0.95);
        }
      } finally {
        await server.close();
      }
    }
    expect(ran).toContain('none:wasm');
  }, 600_000);

  it('npm run bench -- app --json reports loadMs, warm-up, queryMs with and without it, GFLOP/s, bytes fetched, threads and modelBytes', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/index.ts'), 'app', '--run', run, '--backend', 'wasm', '--queries', '2', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { loadMs: number; warmUpMs: number; firstQueryMs: number; queryMs: number; coldQueryMs: number; coldModelMs: number; modelMs: number; modelBytes: number; quantize: string; queries: number; backend: string; inputSize: number; gflopsPerSec: number; flopsPerImage: number; bytesFetched: number; threads: number; appJsBytes: number; exportBytes: number };
    console.log(`[web] bench app: ${JSON.stringify(j)}`);
    expect(j.quantize).toBe('uint8');
    expect(j.queries).toBe(2);
    expect(j.backend).toBe('wasm');
    expect(j.inputSize).toBe(128);
    expect(j.threads).toBeGreaterThan(1);
    expect(j.loadMs).toBeGreaterThan(0);
    expect(j.firstQueryMs).toBeGreaterThan(0);
    expect(j.warmUpMs).toBeGreaterThan(0); // the background warm-up ran before the queries
    expect(j.coldQueryMs).toBeGreaterThanOrEqual(j.coldModelMs); // and the same queries were measured without it
    expect(j.coldModelMs).toBeGreaterThan(0);
    expect(j.queryMs).toBeGreaterThanOrEqual(j.modelMs);
    expect(j.gflopsPerSec).toBeCloseTo(j.flopsPerImage / (j.modelMs * 1e6), 0);
    // What one page load fetched: app.js, one wasm binary and the export (not the three binaries nor bundle.js).
    expect(j.bytesFetched).toBeGreaterThan(j.appJsBytes + j.modelBytes);
    expect(j.bytesFetched).toBeLessThan(j.appJsBytes + j.exportBytes + 1e6);
    expect(j.modelBytes).toBeGreaterThan(1e6);
    expect(j.modelBytes).toBeLessThan(1.6e6);
  }, 300_000);
});
