/**
 * The search app in headless Chromium at 390×844: exports a run (uint8 by default), builds and serves the app on
 * 127.0.0.1, uploads one image (`--queries` times) and types one word; reports load time, the median image-query
 * latency (decode + preprocess + model + both scans), the text-query latency and the model bytes.
 *
 *   npm run bench -- app --json                                  # the newest run under reports/
 *   npm run bench -- app --run reports/<timestamp> --backend wasm --quantize float16 --json
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import type { FlagSpecs } from '../lib/cli';
import { UserError } from '../lib/cli';
import type { Quantize } from '../lib/export/quantize';
import { latestRun, readRun, resolveRun, runItems } from '../lib/run-folder';
import { buildApp } from '../web/build';
import { driveApp } from '../web/drive';
import { serveStatic } from '../web/serve';
import { flag, numberFlag, rssMB } from './flags';

export const flags: FlagSpecs = {
  run: { type: 'path', placeholder: '<run dir>', description: 'run folder (default: the newest under reports/)' },
  quantize: { type: 'string', choices: ['none', 'float16', 'uint8'], default: 'uint8', description: 'weight quantisation' },
  backend: { type: 'string', choices: ['webgl', 'wasm', 'cpu'], description: "the browser's tfjs backend (default: the app's choice, webgl → wasm → cpu)" },
  image: { type: 'path', description: "image to upload (default: the run's first test image)" },
  word: { type: 'string', description: 'word to type (default: the first unseen class)' },
  queries: { type: 'integer', default: 5, description: 'image queries (the same upload repeated); queryMs is their median' },
};

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const given = flag(argv, 'run') ?? latestRun(path.resolve(__dirname, '..', 'reports'));
  if (!given) throw new UserError('no run to benchmark: reports/ holds no finished run', 'run `npm run demo` first, or pass --run <run dir>');
  const runDir = resolveRun(given);
  const quantize = (flag(argv, 'quantize') ?? 'uint8') as Quantize;
  await initBackend();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-bench-app-'));
  try {
    const app = await buildApp({ run: runDir, out, quantize });
    const { info } = await readRun(runDir);
    const items = await runItems(info);
    const image = flag(argv, 'image') ?? (items.test[0] ?? items.valid[0]!).path;
    const word = flag(argv, 'word') ?? (info.testClasses[0] ?? info.classes[0]!).replace(/\+/g, ' ');
    const server = await serveStatic(out);
    try {
      const r = await driveApp({ url: server.url, image, word, backend: flag(argv, 'backend'), repeat: numberFlag(argv, 'queries', 5) });
      const sorted = [...r.imageQueryAllMs].sort((a, b) => a - b);
      if (r.consoleErrors.length || r.outsideRequests.length) throw new Error(`the app misbehaved: ${JSON.stringify({ consoleErrors: r.consoleErrors, outsideRequests: r.outsideRequests })}`);
      return {
        bench: 'app',
        arch: info.arch,
        inputSize: info.size,
        quantize,
        backend: r.backend,
        viewport: '390x844',
        loadMs: Math.round(r.loadMs),
        queryMs: Math.round(sorted[sorted.length >> 1]! * 10) / 10,
        firstQueryMs: Math.round(r.imageQueryMs * 10) / 10,
        queries: sorted.length,
        textQueryMs: Math.round(r.textQueryMs * 100) / 100,
        modelBytes: app.export.model.bytes,
        exportBytes: app.export.totalBytes,
        appJsBytes: app.appBytes,
        images: app.export.images,
        top1: r.top5[0]?.label,
        rssMB: rssMB(),
      };
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
