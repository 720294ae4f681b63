/**
 * The main job: the whole DeViSE pipeline headless, by default on the embedded `data_samples/` (offline) with the
 * shipped ImageNet SqueezeNet weights and word2vec vectors, writing reports/<timestamp>/ with index.html,
 * metrics.json, figures/*.png and the PCA GIFs.
 *
 *   npm run demo                                   # data_samples/, SqueezeNet 1.1, word2vec label vectors, seed 0
 *   npm run demo -- --seeds 3                      # seeds 0, 1, 2: one report each plus mean ± sd (summary.json)
 *   npm run demo -- --quick --out /tmp/r           # tiny settings (what CI runs)
 *   npm run demo -- --data ~/AwA2 --model resnet34 --vectors crawl-300d-2M.vec --split proposed
 */
import * as path from 'node:path';
import { defineCli, runCli, UserError, userPath } from '../lib/cli';
import { deviseConfig, type DeviseConfig } from '../lib/pipeline/config';
import { reportDir, runMetrics, writeReport } from '../lib/pipeline/report';
import { runDevise } from '../lib/pipeline/run';
import { type SeedRun, writeSeedsReport } from '../lib/pipeline/seeds';
import { ARCHS, type Arch } from '../lib/models/registry';
import { ROOT } from '../lib/settings';

const cli = defineCli({
  command: 'npm run demo --',
  summary: 'Runs the whole DeViSE pipeline (stage 1, stage 2a/2b, search indices, zero-shot evaluation) and writes an HTML report.',
  flags: {
    data: { type: 'path', description: 'an AWA2 root or folder-per-class images (default: the embedded data_samples/)' },
    model: { type: 'string', choices: Object.keys(ARCHS), description: 'backbone (default squeezenet1_1)' },
    weights: { type: 'string', placeholder: '<file|none>', description: 'pretrained weights (.pth, .h5, TF.js folder) or none (default: downloaded, else shipped)' },
    vectors: { type: 'string', placeholder: '<name|file.vec>', description: 'label space: word2vec (shipped, default), glove, wordnet, attributes, or a .vec file' },
    split: { type: 'string', choices: ['standard', 'proposed'], description: "AWA2 zero-shot split: the dataset's or Xian et al.'s proposed one (default standard)" },
    seed: { type: 'integer', description: 'run seed (default 0); with --seeds, the first of them' },
    seeds: { type: 'integer', default: 1, description: 'runs this many seeds (seed, seed+1, …) and reports mean ± sd' },
    lr: { type: 'number', description: "stage-1 learning rate (default: the LR finder's suggestion)" },
    'lr-2a': { type: 'number', description: "stage-2a learning rate (default: the LR finder's suggestion)" },
    out: { type: 'path', description: 'report folder (default reports/<timestamp>)' },
    quick: { type: 'boolean', description: 'tiny settings (64 px, single epochs): about a minute' },
    json: { type: 'boolean', description: 'print the metrics as one JSON line (progress goes to stderr)' },
  },
  examples: ['npm run demo', 'npm run demo -- --seeds 3', 'npm run demo -- --data ~/AwA2 --vectors ~/crawl-300d-2M.vec --split proposed'],
});

/** A `--vectors` value: a known label-source name as is, anything else a file relative to where the user typed. */
function labelsOf(v: string, resolve: (p: string) => string): string {
  return ['word2vec', 'glove', 'wordnet', 'attributes'].includes(v) ? v : resolve(v);
}

runCli(async () => {
  const { values: a } = cli.parse();
  if (a.seeds < 1) throw new UserError(`--seeds ${a.seeds}: give a whole number ≥ 1`);
  const out = a.out ?? reportDir(path.join(ROOT, 'reports'));
  const base: Partial<DeviseConfig> = {
    ...(a.data && { data: a.data }),
    ...(a.model && { arch: a.model as Arch }),
    ...(a.weights && { weights: a.weights === 'none' ? null : userPath(a.weights) }),
    ...(a.vectors && { labels: labelsOf(a.vectors, userPath) }),
    ...(a.split && { split: a.split as DeviseConfig['split'] }),
    ...(a.quick && { smoke: true }),
    lr: { ...(a.lr !== undefined && { stage1: a.lr }), ...(a['lr-2a'] !== undefined && { stage2a: a['lr-2a'] }) },
  };
  const first = a.seed ?? deviseConfig(base).seed;
  const log = a.json ? (line: string) => console.error(line) : console.log;
  const runs: SeedRun[] = [];
  for (let i = 0; i < a.seeds; i++) {
    const seed = first + i;
    const dir = a.seeds > 1 ? path.join(out, `seed-${seed}`) : out;
    const cfg = deviseConfig({ ...base, seed, out: path.join(dir, 'run') });
    if (a.seeds > 1) log(`\n=== seed ${seed} (${i + 1} of ${a.seeds}) ===`);
    const t0 = Date.now();
    const results = await runDevise(cfg, log);
    results.seconds.total = (Date.now() - t0) / 1000;
    const report = await writeReport(dir, results);
    runs.push({ seed, report: report.dir, metrics: runMetrics(results) });
    if (!a.json) log(`\nReport: ${path.join(report.dir, 'index.html')}`);
  }
  if (a.seeds > 1) {
    const { summary } = writeSeedsReport(out, runs);
    if (a.json) console.log(JSON.stringify({ report: out, ...summary }));
    else {
      log(`\nOver seeds ${summary.seeds.join(', ')} (mean ± sd):`);
      for (const [k, m] of Object.entries(summary.metrics)) log(`  ${k.padEnd(22)} ${(m.mean * 100).toFixed(1)}% ± ${(m.sd * 100).toFixed(1)}%`);
      log(`Summary: ${path.join(out, 'index.html')}`);
    }
  } else if (a.json) console.log(JSON.stringify({ report: runs[0]!.report, ...runs[0]!.metrics }));
});
