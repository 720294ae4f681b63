/**
 * The original's result table on real photos: SqueezeNet 1.1 against the pretrained ResNet-50 with the same full
 * recipe (LR finder, 4+2+5+3 epochs), over several seeds — accuracy, zero-shot, GZSL, open vocabulary, size on
 * disk, speed, mean ± sd, and a verdict computed from the numbers.
 *
 *   npm run compare                                            # squeezenet1_1,resnet50 × seeds 0,1,2 on ../shared's photos
 *   npm run compare -- --models squeezenet1_1 --seeds 1 --size 224 --out models/compare-224
 *   npm run compare -- --json                                  # { rows, runs, settings, chance, verdict } on stdout
 *   npm run compare -- --table                                 # only the table of the runs finished so far
 *
 * Writes <out>/<model>-seed<k>/ (the run folder, the exports, row.json) and <out>/compare.json + compare.md. A
 * killed comparison keeps its finished runs: the same command again skips them and runs the rest.
 */
import * as path from 'node:path';
import { defineCli, runCli, UserError, userPath } from '../lib/cli';
import { ARCHS, type Arch } from '../lib/models/registry';
import { COMPARE_DATA, modelComparisonMarkdown, runComparison } from '../lib/pipeline/compare';
import { LABEL_SOURCES } from '../lib/vectors/sources';
import { ROOT } from '../lib/settings';

const cli = defineCli({
  command: 'npm run compare --',
  summary: 'Runs each backbone × seed through the full DeViSE recipe and writes the comparison table (mean ± sd), sizes, speeds and a verdict.',
  flags: {
    models: { type: 'string', default: 'squeezenet1_1,resnet50', placeholder: '<a,b>', description: `backbones, comma-separated (${Object.keys(ARCHS).join(', ')}); the first is weighed against the second` },
    seeds: { type: 'integer', default: 3, description: 'seeds per model: seed, seed+1, …' },
    seed: { type: 'integer', default: 0, description: 'the first seed' },
    data: { type: 'path', default: COMPARE_DATA, placeholder: '<dir>', description: 'an AWA2-layout root (npm run data -- tiny-imagenet builds ../shared/data/tiny-imagenet-awa2)' },
    animals: { type: 'string', placeholder: '<dir|none>', description: 'folder-per-class photos of extra classes for open vocabulary (default: tiny-imagenet-animals beside --data; none: skip)' },
    'per-class': { type: 'integer', default: 150, placeholder: '<n>', description: 'the first n photos per class' },
    size: { type: 'integer', default: 112, description: 'image size in px (the photos are 64 px; 112 measured better than 64, 224 costs 4×)' },
    vectors: { type: 'string', default: 'glove100', placeholder: '<name>', description: `label space (${Object.keys(LABEL_SOURCES).join(', ')}); glove100 knows the extra animals` },
    epochs: { type: 'string', default: '4,2,5,3', placeholder: '<a,b,c,d>', description: 'epochs of stage 1 frozen, unfrozen, stage 2a, 2b' },
    bs: { type: 'integer', default: 16, description: 'batch size' },
    'lr-find-iterations': { type: 'integer', default: 100, placeholder: '<n>', description: "LR-finder steps before stage 1 and stage 2a (fastai's 100)" },
    out: { type: 'path', default: path.join(ROOT, 'models', 'compare'), placeholder: '<dir>', description: 'one folder per run, compare.json, compare.md' },
    json: { type: 'boolean', description: 'print compare.json on stdout (progress goes to stderr)' },
    table: { type: 'boolean', description: 'run nothing: write compare.json and compare.md from the runs finished in --out' },
  },
  examples: ['npm run compare', 'npm run compare -- --models squeezenet1_1 --seeds 1 --size 224 --out models/compare-224', 'npm run compare -- --per-class 4 --size 32 --epochs 1,0,1,0 --seeds 1 --out /tmp/c --json'],
  notes: 'Order: every model at the first seed, then the other seeds model by model, so a stopped comparison still has every model. Rerun the same command to continue (finished runs are skipped).',
});

runCli(async () => {
  const { values: a } = cli.parse();
  const models = a.models.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of models) if (!(m in ARCHS)) throw new UserError(`--models: unknown model '${m}'`, `use ${Object.keys(ARCHS).join(', ')}`);
  if (!models.length) throw new UserError('--models: give at least one model');
  if (a.seeds < 1) throw new UserError(`--seeds ${a.seeds}: give a whole number ≥ 1`);
  if (!(a.vectors in LABEL_SOURCES)) throw new UserError(`--vectors: unknown label source '${a.vectors}'`, `use ${Object.keys(LABEL_SOURCES).join(', ')}`);
  const e = a.epochs.split(',').map(Number);
  if (e.length !== 4 || e.some((n) => !Number.isInteger(n) || n < 0)) throw new UserError(`--epochs ${a.epochs}: give four whole numbers, e.g. 4,2,5,3`);
  const log = a.json ? (line: string) => console.error(line) : console.log;
  const c = await runComparison({
    models: models as Arch[],
    seeds: Array.from({ length: a.seeds }, (_, i) => a.seed + i),
    data: a.data,
    animals: a.animals === undefined ? undefined : a.animals === 'none' ? null : userPath(a.animals),
    perClass: a['per-class'],
    size: a.size,
    labels: a.vectors,
    epochs: { stage1: e[0]!, stage1Unfrozen: e[1]!, stage2a: e[2]!, stage2b: e[3]! },
    bs: a.bs,
    lrFindIterations: a['lr-find-iterations'],
    out: a.out,
    log,
    run: !a.table,
    command: ['npm run compare --', ...process.argv.slice(2)].join(' '),
  });
  if (a.json) console.log(JSON.stringify(c));
  else log(`\n${modelComparisonMarkdown(c)}\n${path.join(a.out, 'compare.json')}, compare.md`);
});
