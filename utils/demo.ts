/**
 * The main job: the whole DeViSE pipeline headless, by default on the embedded `data_samples/` (offline) with the
 * shipped ImageNet SqueezeNet weights and word2vec vectors, writing reports/<timestamp>/ with index.html,
 * metrics.json, figures/*.png and the PCA GIFs.
 *
 *   npm run demo                                   # data_samples/, SqueezeNet 1.1, word2vec label vectors, seed 0
 *   npm run demo -- --seeds 3                      # seeds 0, 1, 2: one report each plus mean ± sd (summary.json)
 *   npm run demo -- --quick --out /tmp/r           # tiny settings (what CI runs)
 *   npm run demo -- --data ~/AwA2 --model resnet34 --vectors crawl-300d-2M.vec --split proposed
 *   npm run demo -- --resume reports/<timestamp>   # after Ctrl-C or a crash: continues where it stopped
 *   npm run demo -- --objectives                   # also compares cosine, hinge, triplet, hybrid, ESZSL, ALE on the run's features
 *
 * The report folder holds command.json (the flags, which --resume reuses) and run/ (run.json, models/<phase>/
 * checkpoints, search indices). Ctrl-C stops after the current batch, writes the phase's checkpoint, prints the
 * resume command and exits 130; a second Ctrl-C exits at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomically } from '../lib/backend/io';
import { defineCli, type FlagValues, runCli, UserError, userPath } from '../lib/cli';
import { deviseConfig, type DeviseConfig } from '../lib/pipeline/config';
import { reportDir, runMetrics, writeReport } from '../lib/pipeline/report';
import { runDevise, RunStopped } from '../lib/pipeline/run';
import { formatMetric, HEADLINE_METRICS, type SeedRun, writeSeedsReport } from '../lib/pipeline/seeds';
import { ARCHS, type Arch } from '../lib/models/registry';
import { costStatement } from '../lib/train/estimate';
import { LABEL_SOURCES } from '../lib/vectors/sources';
import { ROOT } from '../lib/settings';
import { buildApp } from '../web/build';
import { exitStopped, interruptGuard, resumeCommandFor } from './resume';

const cli = defineCli({
  command: 'npm run demo --',
  summary: 'Runs the whole DeViSE pipeline (stage 1, stage 2a/2b, search indices, zero-shot evaluation) and writes an HTML report.',
  flags: {
    data: { type: 'path', description: 'an AWA2 root or folder-per-class images (default: the embedded data_samples/)' },
    model: { type: 'string', choices: Object.keys(ARCHS), description: 'backbone (default squeezenet1_1)' },
    weights: { type: 'string', placeholder: '<file|none>', description: 'pretrained weights (.pth, .h5, TF.js folder) or none (default: downloaded, else shipped)' },
    vectors: { type: 'string', placeholder: '<name|file.vec>', description: `label space: a source name (${Object.keys(LABEL_SOURCES).join(', ')}; default word2vec, shipped) or a .vec file` },
    split: { type: 'string', choices: ['standard', 'proposed'], description: "AWA2 zero-shot split: the dataset's or Xian et al.'s proposed one (default standard)" },
    seed: { type: 'integer', description: 'run seed (default 0); with --seeds, the first of them' },
    'per-class': { type: 'integer', placeholder: '<n>', description: 'at most n images per class (the first in path order): a quick run on a big dataset (default: all)' },
    seeds: { type: 'integer', default: 1, description: 'runs this many seeds (seed, seed+1, …) and reports mean ± sd' },
    lr: { type: 'number', description: "stage-1 learning rate (default: the LR finder's suggestion)" },
    'lr-2a': { type: 'number', description: "stage-2a learning rate (default: the LR finder's suggestion)" },
    out: { type: 'path', description: 'report folder (default reports/<timestamp>)' },
    quick: { type: 'boolean', description: 'tiny settings (64 px, single epochs): about a minute' },
    objectives: { type: 'boolean', description: "also compare the embedding objectives (cosine, hinge, triplet + kNN, hybrid, ESZSL, ALE) on the run's own frozen stage-1 features: a table in the report, objectives in metrics.json" },
    json: { type: 'boolean', description: 'print the metrics as one JSON line (progress goes to stderr)' },
    resume: { type: 'path', placeholder: '<report dir>', description: 'continue the stopped run in this folder (its --out) with its own flags' },
  },
  examples: ['npm run demo', 'npm run demo -- --seeds 3', 'npm run demo -- --data ~/AwA2 --vectors ~/crawl-300d-2M.vec --split proposed', 'npm run demo -- --resume reports/2026-12-01T21-00-00'],
});

type Values = FlagValues<typeof cli.spec.flags>;
const COMMAND_FILE = 'command.json';

/** The flags of the run in `dir` (a report folder, or its run/ subfolder), from its command.json. */
function resumeFlags(dir: string, given: Set<string>): { out: string; values: Values; config?: Partial<DeviseConfig> } {
  if (!fs.existsSync(dir)) throw new UserError(`--resume ${dir} does not exist`, 'pass the report folder (--out) of the run to continue');
  const out = fs.existsSync(path.join(dir, COMMAND_FILE)) ? dir : path.basename(dir) === 'run' || /^seed-\d+$/.test(path.basename(dir)) ? path.dirname(dir) : dir;
  const file = path.join(out, COMMAND_FILE);
  if (!fs.existsSync(file)) {
    if (fs.existsSync(path.join(dir, 'run.json')) || fs.existsSync(path.join(dir, 'models'))) {
      throw new UserError(`${dir} is a run folder without ${COMMAND_FILE}`, `if npm run train made it, continue with: ${resumeCommandFor('train', dir)}`);
    }
    throw new UserError(`--resume ${dir} holds no demo run (no ${COMMAND_FILE})`, 'pass the report folder (--out) that npm run demo printed');
  }
  const extra = [...given].filter((k) => !['resume', 'json'].includes(k));
  if (extra.length) throw new UserError(`--resume continues with the run's own flags; drop ${extra.map((k) => `--${k}`).join(', ')}`, 'to change them, start a new run');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { tool: string; flags: Partial<Values>; config?: Partial<DeviseConfig> };
  if (saved.tool !== 'demo') throw new UserError(`${file} was written by npm run ${saved.tool}`, `continue with: ${resumeCommandFor(saved.tool, out)}`);
  return { out, values: { ...saved.flags, out } as Values, config: saved.config };
}

/** A `--vectors` value: a known label-source name as is, anything else a file relative to where the user typed. */
function labelsOf(v: string, resolve: (p: string) => string): string {
  return v in LABEL_SOURCES ? v : resolve(v);
}

runCli(async () => {
  const { values: typed, given } = cli.parse();
  const resuming = typed.resume !== undefined;
  const saved = resuming ? resumeFlags(typed.resume!, given) : undefined;
  const a: Values = saved ? { ...saved.values, json: typed.json } : typed;
  if (a.seeds < 1) throw new UserError(`--seeds ${a.seeds}: give a whole number ≥ 1`);
  const out = a.out ?? reportDir(path.join(ROOT, 'reports'));
  const base: Partial<DeviseConfig> = {
    ...(a.data && { data: a.data }),
    ...(a.model && { arch: a.model as Arch }),
    ...(a.weights && { weights: a.weights === 'none' ? null : userPath(a.weights) }),
    ...(a.vectors && { labels: labelsOf(a.vectors, userPath) }),
    ...(a.split && { split: a.split as DeviseConfig['split'] }),
    ...(a.quick && { smoke: true }),
    ...(a.seed !== undefined && { seed: a.seed }),
    ...(a['per-class'] !== undefined && { perClass: a['per-class'] }),
    lr: { ...(a.lr !== undefined && { stage1: a.lr }), ...(a['lr-2a'] !== undefined && { stage2a: a['lr-2a'] }) },
  };
  // A resumed run uses the settings the first run resolved (flags and DEVISE_* variables then), not today's environment.
  const settings: Partial<DeviseConfig> = saved?.config ?? base;
  if (!resuming && fs.existsSync(path.join(out, COMMAND_FILE))) {
    // As npm run train does: a finished or stopped report is never overwritten by a new run.
    throw new UserError(`--out ${out} already holds a report (${COMMAND_FILE})`, `continue it with: ${resumeCommandFor('demo', out)}   (or choose another --out, or delete that folder to start over)`);
  }
  if (!resuming) {
    // What --resume rebuilds the run from: the flags as typed (paths resolved) and the resolved settings.
    const flags = Object.fromEntries(Object.entries(a).filter(([k, v]) => v !== undefined && !['resume', 'json', 'help'].includes(k)));
    const { out: _out, ...config } = deviseConfig(base);
    writeFileAtomically(path.join(out, COMMAND_FILE), JSON.stringify({ tool: 'demo', flags: { ...flags, out }, config }, null, 2) + '\n');
  }
  const resumeCommand = resumeCommandFor('demo', out);
  let started = false;
  const first = deviseConfig(settings).seed;
  const log = a.json ? (line: string) => console.error(line) : console.log;
  const guard = interruptGuard(log, () => (started ? resumeCommand : undefined));
  const runs: SeedRun[] = [];
  // Told before committing hours: --seeds N is N whole runs; the cost is stated before each extra one, at the measured time of the last.
  if (a.seeds > 1) log(`--seeds ${a.seeds}: ${a.seeds} whole runs one after another; the estimate printed during seed ${first} is for one run (× ${a.seeds} in all)`);
  let lastSeconds: number | undefined;
  for (let i = 0; i < a.seeds; i++) {
    if (lastSeconds !== undefined) log(costStatement({ what: `--seeds ${a.seeds}, still to run`, runs: a.seeds - i, unit: 'seed', secondsPerRun: lastSeconds, measuredOn: `seed ${first + i - 1}` }).line);
    const seed = first + i;
    const dir = a.seeds > 1 ? path.join(out, `seed-${seed}`) : out;
    const cfg = deviseConfig({ ...settings, seed, out: path.join(dir, 'run') });
    if (a.seeds > 1) log(`\n=== seed ${seed} (${i + 1} of ${a.seeds}) ===`);
    const t0 = Date.now();
    started = true;
    let results;
    try {
      results = await runDevise(cfg, log, { resume: resuming, objectives: a.objectives, callbacks: [guard.callback], command: ['npm run demo --', ...process.argv.slice(2)].join(' ') });
    } catch (err) {
      if (err instanceof RunStopped) exitStopped(log, err.reason, cfg.out, resumeCommand);
      throw err;
    }
    if (guard.interrupted) exitStopped(log, 'Ctrl-C', cfg.out, resumeCommand);
    results.seconds.total = (Date.now() - t0) / 1000;
    // The browser search app of this run, beside the report (uint8 export; works from file://).
    const app = await buildApp({ run: cfg.out, out: path.join(dir, 'app') });
    const report = await writeReport(dir, results, { links: [{ href: path.relative(dir, path.join(app.out, 'index.html')), text: `Search this model in your browser, offline (uint8 export, ${(app.export.model.bytes / 1e6).toFixed(2)} MB): open app/index.html, or run npm run app` }] });
    runs.push({ seed, report: report.dir, metrics: runMetrics(results) });
    lastSeconds = (Date.now() - t0) / 1000; // the whole seed: training, app and report
    if (!a.json) log(`\nReport: ${path.join(report.dir, 'index.html')}`);
  }
  if (a.seeds > 1) {
    const { summary } = writeSeedsReport(out, runs);
    if (a.json) console.log(JSON.stringify({ report: out, ...summary }));
    else {
      log(`\nOver seeds ${summary.seeds.join(', ')} (mean ± sd):`);
      for (const [k, m] of Object.entries(summary.metrics)) log(`  ${HEADLINE_METRICS[k]!.padEnd(34)} ${formatMetric(k, m.mean)} ± ${formatMetric(k, m.sd)}`);
      log(`Summary: ${path.join(out, 'index.html')}`);
    }
  } else if (a.json) console.log(JSON.stringify({ report: runs[0]!.report, ...runs[0]!.metrics }));
});
