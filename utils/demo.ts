/**
 * The main job: the whole DeViSE pipeline headless, by default on the embedded `data_samples/` (offline),
 * writing reports/<timestamp>/ with index.html, metrics.json, figures/*.png and the PCA GIFs.
 *
 *   npm run demo                                   # data_samples/, SqueezeNet 1.1, WordNet label vectors
 *   npm run demo -- --quick --out /tmp/r           # tiny settings (what CI runs)
 *   npm run demo -- --data ~/AwA2 --model resnet34 --vectors crawl-300d-2M.vec
 *
 * Flags: --data <AWA2 root | folder-per-class>, --model squeezenet1_1|resnet34, --weights <file|none>,
 * --vectors <file.vec> (default: WordNet embeddings), --out <dir> (default reports/<timestamp>), --quick, --json.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { deviseConfig } from '../lib/pipeline/config';
import { reportDir, runMetrics, writeReport } from '../lib/pipeline/report';
import { runDevise } from '../lib/pipeline/run';
import type { Arch } from '../lib/models/registry';

const USAGE = `usage: npm run demo -- [--data <dir>] [--model squeezenet1_1|resnet34] [--weights <file|none>] [--vectors <file.vec>] [--out <dir>] [--quick] [--json]`;

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      data: { type: 'string' },
      model: { type: 'string' },
      weights: { type: 'string' },
      vectors: { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (a.help) return console.log(USAGE);
  const out = a.out ? path.resolve(a.out) : reportDir(path.resolve(__dirname, '..', 'reports'));
  const cfg = deviseConfig({
    ...(a.data && { data: path.resolve(a.data) }),
    ...(a.model && { arch: a.model as Arch }),
    ...(a.weights && { weights: a.weights === 'none' ? null : path.resolve(a.weights) }),
    ...(a.vectors && { labels: path.resolve(a.vectors) }),
    ...(a.quick && { smoke: true }),
    out: path.join(out, 'run'),
  });
  const log = a.json ? (line: string) => console.error(line) : console.log;
  const t0 = Date.now();
  const results = await runDevise(cfg, log);
  results.seconds.total = (Date.now() - t0) / 1000;
  const report = await writeReport(out, results);
  if (a.json) console.log(JSON.stringify({ report: report.dir, ...runMetrics(results) }));
  else log(`\nReport: ${path.join(report.dir, 'index.html')}\n${report.files.map((f) => `  ${f}`).join('\n')}`);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
