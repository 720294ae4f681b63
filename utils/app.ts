/**
 * The phone-sized search app for a trained run: exports the run (uint8 by default), builds the static app next to
 * it and serves it on 127.0.0.1 (Ctrl-C stops). The folder also opens from file:// (index.html) with no server.
 *
 *   npm run app                                    # the newest run under reports/
 *   npm run app -- --run reports/<timestamp> --port 8080 --quantize float16
 *   npm run app -- --build-only --out /tmp/app     # write the folder, do not serve
 */
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { defineCli, runCli, UserError } from '../lib/cli';
import { QUANTIZE, type Quantize } from '../lib/export/quantize';
import { findRun } from '../lib/run-folder';
import { buildApp } from '../web/build';
import { serveStatic } from '../web/serve';


export const cli = defineCli({
  command: 'npm run app --',
  summary: 'Exports a trained run and serves the static search app (image→text, image→image, text→image) on 127.0.0.1.',
  flags: {
    run: { type: 'path', placeholder: '<run dir>', description: 'the run folder (or the report folder npm run demo wrote); default: the newest under reports/' },
    out: { type: 'path', placeholder: '<dir>', description: 'app folder (default <run>/app)' },
    quantize: { type: 'string', choices: QUANTIZE, default: 'uint8', description: 'weight quantisation of the exported model' },
    port: { type: 'integer', default: 8080, description: 'port on 127.0.0.1 (0: any free port)' },
    'build-only': { type: 'boolean', description: 'write the app folder and exit' },
  },
  examples: ['npm run app', 'npm run app -- --run reports/2026-12-01T21-00-00 --port 8080'],
});

runCli(async () => {
  const { values: a } = cli.parse();
  let found;
  try {
    found = findRun({ given: a.run, needs: 'models' });
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  if (!found) throw new UserError('no run to show: reports/ holds no finished run', 'run `npm run demo` first, or pass --run <run dir>');
  const run = found.dir;
  await initBackend();
  const out = a.out ?? path.join(run, 'app');
  const app = await buildApp({ run, out, quantize: a.quantize as Quantize, onProgress: (l) => console.error(l) });
  console.error(`app: ${out} (app.js ${app.appBytes.toLocaleString('en-US')} bytes, model ${app.export.model.bytes.toLocaleString('en-US')} bytes); offline: open ${path.join(out, 'index.html')}`);
  if (a['build-only']) return;
  let server;
  try {
    server = await serveStatic(out, { port: a.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`port ${a.port} on 127.0.0.1 is in use`, 'pass another one with --port <n> (or --port 0 for any free port)');
    throw err;
  }
  // COOP/COEP headers (web/serve.ts): the page is cross-origin isolated, so tfjs-wasm runs SIMD with threads.
  console.log(`serving ${out} at ${server.url}, cross-origin isolated (wasm SIMD + threads; file:// runs single-threaded)  (Ctrl-C stops)`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
});
