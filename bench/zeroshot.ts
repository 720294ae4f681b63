/**
 * Why zero-shot barely transfers on real photos: one table of DeViSE runs on Tiny ImageNet (the AWA2 subset plus
 * the extra animals of `npm run data -- tiny-imagenet`), each row changing one thing against the base row — how
 * many classes are seen (extra animals join the seen side), the stage-2 rate, the image size, the head (keep the
 * hidden layers or not), the label space. Every row: first `--per-class` photos per class, body frozen, stage 1
 * and stage 2a `--epochs` each; zero-shot over the 3 AWA2 unseen classes (chance 33 %), calibrated GZSL H, and
 * open-vocabulary top-1 over the last 10 extra animals (never seen by any row; chance 10 %).
 *
 *   npm run bench -- zeroshot --json
 *   npm run bench -- zeroshot --rows base,seen+10,size112 --per-class 60 --epochs 3
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { type FlagSpecs, UserError } from '../lib/cli';
import { TINY_IMAGENET_ANIMALS, TINY_IMAGENET_AWA2, TINY_IMAGENET_AWA2_UNSEEN } from '../lib/data/tiny-imagenet';
import { saveModel } from '../lib/models/index';
import { ROOT } from '../lib/settings';
import { accuracy } from '../lib/train/metrics';
import { cnnLearner, ImageDataBunch } from '../lib/train/vision';
import { labelSource } from '../lib/vectors/sources';
import { zeroShotOfImages } from '../lib/zeroshot-images';
import { flag, numberFlag } from './flags';

const SHARED_DATA = path.join(ROOT, '..', 'shared', 'data');

export const flags: FlagSpecs = {
  data: { type: 'path', default: path.join(SHARED_DATA, 'tiny-imagenet-awa2'), placeholder: '<dir>', description: 'tiny-imagenet-awa2 folder (npm run data -- tiny-imagenet)' },
  animals: { type: 'path', default: path.join(SHARED_DATA, 'tiny-imagenet-animals'), placeholder: '<dir>', description: 'tiny-imagenet-animals folder' },
  rows: { type: 'string', default: 'all', placeholder: '<name,...>', description: 'rows to run (all, or names from the table)' },
  'per-class': { type: 'integer', default: 60, description: 'photos per class' },
  epochs: { type: 'integer', default: 3, description: 'epochs of stage 1 and of stage 2a' },
  seed: { type: 'integer', default: 0, description: 'seed of split, augmentation and head' },
};

/** One configuration: what differs from the base row. */
interface Row { size: number; seenAnimals: number; labels: string; lr2: number; keepHidden: boolean }

const BASE: Row = { size: 64, seenAnimals: 0, labels: 'glove100', lr2: 1e-2, keepHidden: true };
/** The table: each row changes one thing. Open vocabulary always uses the last 10 animals, so at most 10 join. */
const ROWS: Record<string, Row> = {
  base: BASE,
  'seen+5': { ...BASE, seenAnimals: 5 },
  'seen+10': { ...BASE, seenAnimals: 10 },
  'lr2=3e-3': { ...BASE, lr2: 3e-3 },
  'lr2=3e-2': { ...BASE, lr2: 3e-2 },
  'no-hidden': { ...BASE, keepHidden: false },
  size112: { ...BASE, size: 112 },
  size224: { ...BASE, size: 224 },
  word2vec: { ...BASE, labels: 'word2vec' },
};
const OPEN_VOCABULARY = TINY_IMAGENET_ANIMALS.slice(10).map((c) => c.label);

/** An AWA2-layout root: the 13 classes plus the first `seenAnimals` extra animals as seen classes, `n` photos each. */
function buildRoot(dir: string, awa2: string, animals: string, seenAnimals: number, n: number): string {
  const root = path.join(dir, `data-seen${seenAnimals}-${n}`);
  if (fs.existsSync(root)) return root;
  const extra = TINY_IMAGENET_ANIMALS.slice(0, seenAnimals).map((c) => c.label);
  const copy = (from: string, label: string) => {
    fs.mkdirSync(path.join(root, 'JPEGImages', label), { recursive: true });
    for (const f of fs.readdirSync(from).sort().slice(0, n)) fs.copyFileSync(path.join(from, f), path.join(root, 'JPEGImages', label, f));
  };
  for (const c of TINY_IMAGENET_AWA2) copy(path.join(awa2, 'JPEGImages', c.label), c.label);
  for (const label of extra) copy(path.join(animals, label), label);
  const all = [...TINY_IMAGENET_AWA2.map((c) => c.label), ...extra];
  const lines = (xs: string[]) => xs.map((x) => `${x}\n`).join('');
  fs.writeFileSync(path.join(root, 'classes.txt'), lines(all.map((l, i) => `${String(i + 1).padStart(7)}\t${l}`)));
  fs.writeFileSync(path.join(root, 'trainclasses.txt'), lines(all.filter((l) => !TINY_IMAGENET_AWA2_UNSEEN.includes(l))));
  fs.writeFileSync(path.join(root, 'testclasses.txt'), lines([...TINY_IMAGENET_AWA2_UNSEEN]));
  return root;
}

/** Runs the table; one result object per row. */
export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const awa2 = flag(argv, 'data') ?? (flags.data!.default as string);
  const animals = flag(argv, 'animals') ?? (flags.animals!.default as string);
  for (const d of [awa2, animals]) if (!fs.existsSync(d)) throw new UserError(`${d} does not exist: build it with \`npm run data -- tiny-imagenet --out <dir>\` and pass --data/--animals`);
  const rows = flag(argv, 'rows') ?? 'all';
  const names = rows === 'all' ? Object.keys(ROWS) : rows.split(',');
  for (const n of names) if (!ROWS[n]) throw new UserError(`--rows: unknown row '${n}'; rows: ${Object.keys(ROWS).join(', ')}`);
  const n = numberFlag(argv, 'per-class', 60);
  const epochs = numberFlag(argv, 'epochs', 3);
  const seed = numberFlag(argv, 'seed', 0);
  const backend = await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-bench-zeroshot-'));
  const stage1 = new Map<string, { dir: string; accuracy: number; seconds: number }>();
  const openItems = OPEN_VOCABULARY.flatMap((label) => fs.readdirSync(path.join(animals, label)).sort().slice(0, 20).map((f) => ({ path: path.join(animals, label, f), label })));
  const results: Record<string, unknown>[] = [];
  try {
    for (const name of names) {
      const row = ROWS[name]!;
      const t0 = Date.now();
      const data = await ImageDataBunch.fromFolder(buildRoot(dir, awa2, animals, row.seenAnimals, n), { size: row.size, bs: 32, validPct: 0.2, seed });
      // Stage 1 depends on the data and size only: rows that differ in stage 2 share it.
      const key = `${row.seenAnimals}-${row.size}`;
      if (!stage1.has(key)) {
        const learn = await cnnLearner(data, 'squeezenet1_1', { metrics: [accuracy], path: dir, seed, progress: 'none' });
        const fit = await learn.fitOneCycle(epochs, 1e-2);
        const s1Dir = path.join(dir, `stage1-${key}`);
        await saveModel(learn.model, s1Dir);
        learn.model.model.dispose();
        stage1.set(key, { dir: s1Dir, accuracy: fit.epochs.at(-1)!.metrics.accuracy!, seconds: (Date.now() - t0) / 1000 });
      }
      const s1 = stage1.get(key)!;
      const source = await labelSource(row.labels);
      const learn = await cnnLearner(data, 'squeezenet1_1', { metrics: [accuracy], weights: s1.dir, path: dir, seed, progress: 'none' });
      learn.toEmbedding(source.embed(data.classes), { keepHidden: row.keepHidden });
      learn.freeze();
      await learn.fitOneCycle(epochs, row.lr2);
      const s2 = await learn.evaluateEmbedding();
      const z = await zeroShotOfImages(learn, data, source, data.testClasses!, data.test!.items);
      let open: number | null = null;
      try {
        source.embed(OPEN_VOCABULARY);
        open = (await zeroShotOfImages(learn, data, source, OPEN_VOCABULARY, openItems)).zsl.perClassTop1;
      } catch {
        open = null; // a label space without these words (word2vec's shipped file: the 50 AWA2 classes)
      }
      learn.model.model.dispose();
      const r = {
        row: name, ...row, seenClasses: data.classes.length, stage1Accuracy: s1.accuracy, stage2Top1: s2.top1,
        zeroShotPerClassTop1: z.zsl.perClassTop1, zeroShotChance: z.zsl.chance, calibratedH: z.gzsl.calibrated.H,
        openVocabularyTop1: open, openVocabularyChance: 1 / OPEN_VOCABULARY.length, seconds: (Date.now() - t0) / 1000,
      };
      process.stderr.write(`${name}: ${JSON.stringify(r)}\n`);
      results.push(r);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { backend: backend.backend, threads: backend.threads, perClass: n, epochs, seed, openVocabulary: OPEN_VOCABULARY, rows: results };
}
