/**
 * Drives the built app in headless Chromium (playwright-core + Debian's chromium) the way a phone user
 * would: 390×844 viewport, upload one image, type one word. Shared by test/web and `npm run bench -- app`.
 *
 *   const r = await driveApp({ url: server.url, image: 'data_samples/JPEGImages/seal/seal_10001.jpg', word: 'seal' });
 *   r.top5[0].label; r.loadMs; r.imageQueryMs; r.outsideRequests   // [] when nothing left 127.0.0.1
 *   r.backend; r.threads; r.isolated                                 // what the app runs on ('wasm', 2, true)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHROMIUM_ARGS, chromiumPath } from '../lib/plots/render';

export interface DriveResult {
  backend: string;
  /** wasm's thread count (null on the GPU backends), whether the page was cross-origin isolated, SIMD. */
  threads: number | null;
  isolated: boolean;
  simd: boolean | null;
  /** The app's warm-up: ms per backend it measured, and the ones it left out with why. */
  measuredMs: Record<string, number>;
  skipped: Record<string, string>;
  loadMs: number;
  /** When each step of the load ended, ms from its start: modelJson, downloads, backend (ready), model (built), firstRun. */
  loadSteps: Record<string, number>;
  /** How long the app's background warm-up ran after load before the first query (0 with `warmUp: false`). */
  warmUpMs: number;
  imageQueryMs: number;
  /** Every image query's ms with `repeat` > 1 (the first is `imageQueryMs`), and the model's part of each. */
  imageQueryAllMs: number[];
  modelAllMs: number[];
  textQueryMs: number;
  top5: { label: string; seen: boolean; score: number }[];
  /** The top-5 list with the 'unseen labels only' toggle on (as shown). */
  unseenOnly: { label: string; seen: boolean }[];
  /** Hits of the image → image and text → image searches; `thumb`: shown with a thumbnail (in the gallery). */
  imageNeighbours: { label: string; score: number; thumb: boolean }[];
  textImages: { label: string; score: number; thumb: boolean }[];
  /** The page's status line once loaded (model, backend, labels, how many images are searched and have thumbnails). */
  status: string;
  consoleErrors: string[];
  /** Requests to anything but 127.0.0.1 / data: / blob: / file: (must be empty). */
  outsideRequests: string[];
  /** Every http(s) and file: URL the page requested (which wasm binary, which scripts). */
  requested: string[];
  /** What the page shows for the text query (labels of the thumbnails in #text-results). */
  shownTextLabels: string[];
  /** With `classify`: the page's nearest label (all labels, no calibration) of each of those images, in order. */
  classified: string[];
  screenshot?: Buffer;
}

/**
 * Opens `url`, waits for the app and its background warm-up (`warmUp: false` turns that off: `?warmup=0`), uploads
 * (or with `drop`, drags in) `image` (`repeat` times, `pauseMs` apart), types `word`; `backend` forces one (`?backend=`).
 */
export async function driveApp(opts: { url: string; image: string; word: string; backend?: string; warmUp?: boolean; drop?: boolean; repeat?: number; pauseMs?: number; screenshot?: boolean; timeoutMs?: number; classify?: string[] }): Promise<DriveResult> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-app-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
  const consoleErrors: string[] = [];
  const outsideRequests: string[] = [];
  const requested: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      const u = r.url();
      if (/^(https?|file):/.test(u)) requested.push(u);
      if (!/^(http:\/\/127\.0\.0\.1[:/]|data:|blob:|file:)/.test(u)) outsideRequests.push(u);
    });
    const timeout = opts.timeoutMs ?? 120_000;
    page.setDefaultTimeout(timeout);
    const query = new URLSearchParams({ ...(opts.backend && { backend: opts.backend }), ...(opts.warmUp === false && { warmup: '0' }) }).toString();
    await page.goto(opts.url + (query ? `?${query}` : ''));
    await page.waitForFunction(() => {
      const d = (globalThis as unknown as { devise?: { warmUpMs?: number; error?: string } }).devise;
      return d?.warmUpMs !== undefined || d?.error !== undefined;
    });
    const state = () => page.evaluate(() => (globalThis as unknown as { devise: { backend: string; threads: number | null; isolated: boolean; simd: boolean | null; measuredMs: Record<string, number>; skipped: Record<string, string>; loadMs: number; loadSteps: Record<string, number>; warmUpMs: number; error?: string; last?: { kind: string; ms: number; modelMs?: number; labels?: DriveResult['top5']; images?: DriveResult['textImages'] } } }).devise);
    const first = await state();
    if (first.error) throw new Error(`the app failed to load: ${first.error}`);
    const classified: string[] = [];
    for (const file of opts.classify ?? []) {
      const b64 = fs.readFileSync(file).toString('base64');
      classified.push(await page.evaluate((b64) => (globalThis as unknown as { devise: { nearestLabel(b: Uint8Array): Promise<string> } }).devise.nearestLabel(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))), b64));
    }
    if (opts.drop) {
      // Drag and drop: a File in a DataTransfer, dropped on the drop zone.
      const b64 = fs.readFileSync(opts.image).toString('base64');
      await page.evaluate(({ b64, name }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const g = globalThis as unknown as { DataTransfer: new () => { items: { add(f: unknown): void } }; File: new (b: unknown[], n: string, o: object) => unknown; DragEvent: new (t: string, o: object) => unknown; document: { getElementById(id: string): { dispatchEvent(e: unknown): void } } };
        const dt = new g.DataTransfer();
        dt.items.add(new g.File([bytes], name, { type: 'image/jpeg' }));
        g.document.getElementById('drop').dispatchEvent(new g.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, { b64, name: path.basename(opts.image) });
    } else await page.setInputFiles('#file', opts.image);
    await page.waitForFunction(() => (globalThis as unknown as { devise: { last?: { kind: string } } }).devise.last?.kind === 'image');
    const img = (await state()).last!;
    const imageQueryAllMs = [img.ms];
    const modelAllMs = [img.modelMs ?? NaN];
    for (let i = 1; i < (opts.repeat ?? 1); i++) {
      if (opts.pauseMs) await page.waitForTimeout(opts.pauseMs);
      await page.evaluate(() => {
        (globalThis as unknown as { devise: { last?: unknown } }).devise.last = undefined;
        const input = (globalThis as unknown as { document: { getElementById(id: string): { value: string } } }).document.getElementById('file');
        input.value = ''; // the same file again must fire 'change'
      });
      await page.setInputFiles('#file', opts.image);
      await page.waitForFunction(() => (globalThis as unknown as { devise: { last?: { kind: string } } }).devise.last?.kind === 'image');
      const last = (await state()).last!;
      imageQueryAllMs.push(last.ms);
      modelAllMs.push(last.modelMs ?? NaN);
    }
    await page.check('#unseen-only');
    const unseenOnly = await page.$$eval('#labels li', (lis) => lis.map((li) => ({ label: (li as unknown as { dataset: Record<string, string | undefined> }).dataset['label'] ?? '', seen: li.querySelector('.tag.seen') !== null })));
    await page.uncheck('#unseen-only');
    await page.fill('#word', opts.word);
    await page.waitForFunction(() => (globalThis as unknown as { devise: { last?: { kind: string } } }).devise.last?.kind === 'text');
    const txt = (await state()).last!;
    const status = await page.$eval('#status', (e) => (e as unknown as { textContent: string }).textContent);
    const shownTextLabels = await page.$$eval('#text-results figure', (fs) => fs.map((f) => (f as unknown as { dataset: Record<string, string | undefined> }).dataset['label'] ?? ''));
    const screenshot = opts.screenshot ? await page.screenshot({ fullPage: true }) : undefined;
    return {
      backend: first.backend,
      threads: first.threads,
      isolated: first.isolated,
      simd: first.simd,
      measuredMs: first.measuredMs,
      skipped: first.skipped,
      loadMs: first.loadMs,
      loadSteps: first.loadSteps,
      warmUpMs: first.warmUpMs,
      imageQueryMs: img.ms,
      imageQueryAllMs,
      modelAllMs,
      textQueryMs: txt.ms,
      top5: img.labels ?? [],
      unseenOnly,
      imageNeighbours: img.images ?? [],
      textImages: txt.images ?? [],
      consoleErrors,
      outsideRequests,
      requested,
      shownTextLabels,
      status,
      classified,
      screenshot,
    };
  } finally {
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
