/**
 * The search app in headless Chromium at 390×844: exports a run (uint8 by default), builds and serves the app on
 * 127.0.0.1 (cross-origin isolated), uploads one image (`--queries` times, `--pause` ms apart) and types one word,
 * first on the backend the app picks itself, then on every other backend the page can start (WebGPU, WebGL, wasm).
 * Per backend: load time (and when each of its steps ended), how long the app's background warm-up then ran, the
 * median image-query latency after it (decode + preprocess + model + both scans), the model's part and its achieved
 * GFLOP/s (FLOPs from the exported model's layer shapes), wasm threads, bytes the page fetched; for the chosen
 * backend also coldQueryMs: the median with the warm-up turned off.
 *
 *   npm run bench -- app --json                                  # the newest run under reports/
 *   npm run bench -- app --run reports/<timestamp> --backend wasm --quantize float16 --json
 *   npm run bench -- app --image photo.jpg --pause 2000 --json   # your own photo, a query every 2 s
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import type { FlagSpecs } from '../lib/cli';
import { UserError } from '../lib/cli';
import type { Quantize } from '../lib/export/quantize';
import { loadExportedModel } from '../lib/export/model';
import { latestRun, readRun, resolveRun, runItems } from '../lib/run-folder';
import { BACKENDS } from '../web/src/core';
import { buildApp } from '../web/build';
import { driveApp } from '../web/drive';
import { serveStatic } from '../web/serve';
import { flag, numberFlag, rssMB } from './flags';
import { forwardFlops } from './support/flops';

/** The backends the page tries, best first (web/src/backend.ts). */
const PAGE_BACKENDS = BACKENDS.filter((b) => b !== 'cpu');

export const flags: FlagSpecs = {
  run: { type: 'path', placeholder: '<run dir>', description: 'run folder (default: the newest under reports/)' },
  quantize: { type: 'string', choices: ['none', 'float16', 'uint8'], default: 'uint8', description: 'weight quantisation' },
  backend: { type: 'string', choices: [...PAGE_BACKENDS, 'cpu'], description: "measure only this backend (default: the app's own measured choice, then every other one the page can run)" },
  image: { type: 'path', description: "image to upload (default: the run's first test image)" },
  word: { type: 'string', description: 'word to type (default: the first unseen class)' },
  queries: { type: 'integer', default: 20, description: 'image queries per backend (the same upload repeated); queryMs is their median' },
  pause: { type: 'integer', default: 0, description: 'ms between queries (0: each as soon as the last is shown; a person takes seconds, and an idle CPU wakes slower)' },
};

const round1 = (v: number): number => Math.round(v * 10) / 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** One page load on `backend` (undefined: the app's own choice), on a fresh server so bytesFetched is that load's. */
async function measure(dir: string, image: string, word: string, queries: number, pauseMs: number, flops: number, backend?: string, warmUp = true): Promise<Record<string, unknown>> {
  const server = await serveStatic(dir);
  try {
    const r = await driveApp({ url: server.url, image, word, backend, warmUp, repeat: queries, pauseMs });
    if (r.consoleErrors.length || r.outsideRequests.length) throw new Error(`the app misbehaved: ${JSON.stringify({ consoleErrors: r.consoleErrors, outsideRequests: r.outsideRequests })}`);
    const modelMs = median(r.modelAllMs);
    return {
      backend: r.backend,
      threads: r.threads ?? undefined,
      crossOriginIsolated: r.isolated,
      loadMs: Math.round(r.loadMs),
      loadSteps: Object.fromEntries(Object.entries(r.loadSteps).map(([k, v]) => [k, Math.round(v)])),
      warmUpMs: Math.round(r.warmUpMs),
      queryMs: round1(median(r.imageQueryAllMs)),
      firstQueryMs: round1(r.imageQueryMs),
      modelMs: round1(modelMs),
      // The model's FLOPs (from its layer shapes) over the model's part of the query.
      gflopsPerSec: round1(flops / (modelMs * 1e6)),
      bytesFetched: [...server.bytes.values()].reduce((a, b) => a + b, 0),
      textQueryMs: Math.round(r.textQueryMs * 100) / 100,
      top1: r.top5[0]?.label,
      ...(backend === undefined && { measuredMs: Object.fromEntries(Object.entries(r.measuredMs).map(([k, v]) => [k, round1(v)])), skipped: r.skipped }),
    };
  } finally {
    await server.close();
  }
}

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const given = flag(argv, 'run') ?? latestRun(path.resolve(__dirname, '..', 'reports'));
  if (!given) throw new UserError('no run to benchmark: reports/ holds no finished run', 'run `npm run demo` first, or pass --run <run dir>');
  const runDir = resolveRun(given);
  const quantize = (flag(argv, 'quantize') ?? 'uint8') as Quantize;
  const queries = numberFlag(argv, 'queries', 20);
  const pauseMs = numberFlag(argv, 'pause', 0);
  await initBackend();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-bench-app-'));
  try {
    const app = await buildApp({ run: runDir, out, quantize });
    const exported = await loadExportedModel(path.join(app.export.dir, 'model'));
    const flops = forwardFlops(exported);
    exported.dispose();
    const { info } = await readRun(runDir);
    const items = await runItems(info);
    const image = flag(argv, 'image') ?? (items.test[0] ?? items.valid[0]!).path;
    const word = flag(argv, 'word') ?? (info.testClasses[0] ?? info.classes[0]!).replace(/\+/g, ' ');
    const forced = flag(argv, 'backend');
    // The app's own choice first (its warm-up says which others it could start), then each other one forced.
    const chosen = await measure(out, image, word, queries, pauseMs, flops, forced);
    // The same backend without the background warm-up: what the first queries right after load take.
    const cold = await measure(out, image, word, queries, pauseMs, flops, chosen.backend as string, false);
    const backends: Record<string, Record<string, unknown>> = { [chosen.backend as string]: chosen };
    const unavailable: Record<string, string> = {};
    for (const b of forced ? [] : PAGE_BACKENDS.filter((b) => b !== chosen.backend)) {
      try {
        backends[b] = await measure(out, image, word, queries, pauseMs, flops, b);
      } catch (err) {
        unavailable[b] = (err as Error).message.split('\n')[0]!;
      }
    }
    return {
      bench: 'app',
      arch: info.arch,
      inputSize: info.size,
      quantize,
      viewport: '390x844',
      queries,
      pauseMs,
      flopsPerImage: flops,
      ...chosen,
      coldQueryMs: cold.queryMs,
      coldModelMs: cold.modelMs,
      backends,
      ...(Object.keys(unavailable).length && { unavailable }),
      modelBytes: app.export.model.bytes,
      exportBytes: app.export.totalBytes,
      appJsBytes: app.appBytes,
      images: app.export.images,
      rssMB: rssMB(),
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
