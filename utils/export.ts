/**
 * Exports a trained run's stage-2 embedding model for browsers and phones: an inference-only TF.js layers model
 * (BatchNorm folded, Dropout removed, no optimizer state) that plain @tensorflow/tfjs loads, with fp32, float16 or
 * uint8 weights, plus the label table and the image table (embeddings + thumbnails) the search app uses.
 *
 *   npm run export -- --run reports/<timestamp>/run --out export --quantize uint8
 *   npm run export -- --run reports/<timestamp> --compare          # size and accuracy of fp32/float16/uint8
 *   npm run export -- --sizes --json                               # bytes on disk, SqueezeNet and ResNet34
 */
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { defineCli, runCli, UserError } from '../lib/cli';
import { QUANTIZE, type Quantize } from '../lib/export/quantize';
import { comparisonMarkdown, exportComparison, exportRun, exportSizes } from '../lib/export/run';
import { findRun } from '../lib/run-folder';


export const cli = defineCli({
  command: 'npm run export --',
  summary: 'Exports the stage-2 embedding model of a run (inference-only TF.js, fp32/float16/uint8) with its label and image tables.',
  flags: {
    run: { type: 'path', placeholder: '<run dir>', description: 'the run folder (or the report folder npm run demo wrote); default: the newest under reports/' },
    out: { type: 'path', placeholder: '<dir>', description: 'output folder (default <run>/export-<quantize>)' },
    quantize: { type: 'string', choices: QUANTIZE, default: 'uint8', description: 'weight quantisation' },
    compare: { type: 'boolean', description: 'instead of exporting: size and accuracy of every variant against the trained model' },
    sizes: { type: 'boolean', description: 'instead of exporting: bytes on disk per variant for SqueezeNet 1.1 and ResNet34 (random weights)' },
    json: { type: 'boolean', description: 'print one JSON object' },
  },
  examples: ['npm run export -- --run reports/2026-12-01T21-00-00 --out export --quantize uint8', 'npm run export -- --compare', 'npm run export -- --sizes --json'],
});

runCli(async () => {
  const { values: a } = cli.parse();
  await initBackend();
  if (a.sizes) {
    const rows = await exportSizes();
    console.log(a.json ? JSON.stringify({ sizes: rows }) : rows.map((r) => `${r.arch.padEnd(14)} ${r.variant.padEnd(8)} ${r.bytes.toLocaleString('en-US').padStart(12)} bytes  (${r.params.toLocaleString('en-US')} params)`).join('\n'));
    return;
  }
  let found;
  try {
    found = findRun({ given: a.run, needs: 'models' });
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  if (!found) throw new UserError('no run to export: reports/ holds no finished run', 'run `npm run demo` first, or pass --run <run dir>');
  const run = found.dir;
  if (a.compare) {
    const c = await exportComparison(run);
    console.log(a.json ? JSON.stringify({ ...c, rows: c.rows.map(({ metrics: _m, ...r }) => r) }) : comparisonMarkdown(c));
    return;
  }
  const quantize = a.quantize as Quantize;
  const out = a.out ?? path.join(run, `export-${quantize}`);
  const e = await exportRun(run, out, { quantize, onProgress: a.json ? undefined : (l) => console.error(l) });
  console.log(a.json ? JSON.stringify({ dir: e.dir, quantize, modelBytes: e.model.bytes, totalBytes: e.totalBytes, images: e.images, classes: e.classes, files: e.model.files }) : `${e.dir}: model ${e.model.bytes.toLocaleString('en-US')} bytes (${quantize}), ${e.classes} labels, ${e.images} images; ${e.totalBytes.toLocaleString('en-US')} bytes in all`);
});
