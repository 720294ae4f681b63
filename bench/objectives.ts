/**
 * `npm run bench -- objectives`: the comparison of lib/objectives.ts (cosine, hinge, triplet + kNN, hybrid, ESZSL, ALE) on real
 * photos, SqueezeNet 1.1 (Keras ImageNet weights, frozen) features of ../shared/data/tiny-imagenet-awa2 at 64 px.
 *
 *   npm run bench -- objectives --json                            # 3 seeds, 64 px, 150 photos per class, 10 epochs
 *   npm run bench -- objectives --seeds 1 --per-class 60 --epochs 5 --features-cache /tmp/f.json
 *   npm run bench -- objectives --labels glove100 --animals ../shared/data/tiny-imagenet-animals   # + open vocabulary (3 unseen + 20 animals)
 *
 * Caveat: these are ImageNet classes, which the ImageNet-pretrained backbone has seen (Xian et al.'s reason for the proposed split).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import type { FlagSpecs } from '../lib/cli';
import { cacheFeatures, compareObjectives, type FeatureSet, type Objective, OBJECTIVES, type ObjectiveResult, summariseObjectives } from '../lib/objectives';
import { flag, hasFlag, numberFlag, rssMB } from './flags';

const ROOT = path.resolve(__dirname, '..');
const SHARED = path.join(ROOT, '..', 'shared');

export const flags: FlagSpecs = {
  data: { type: 'string', default: '../shared/data/tiny-imagenet-awa2', placeholder: '<AWA2 root>', description: 'photos in AWA2 layout (seen = trainclasses.txt, unseen = testclasses.txt)' },
  weights: { type: 'string', default: '../shared/weights/keras-squeezenet/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5', placeholder: '<file>', description: 'SqueezeNet 1.1 weights' },
  seeds: { type: 'integer', default: 3, description: 'how many seeds (head initialisation, batch order, ALE order)' },
  'first-seed': { type: 'integer', default: 0, description: 'the first seed (seeds first..first+n−1; split a long run over processes, then --merge)' },
  'published-defaults': { type: 'boolean', description: 'ESZSL and ALE with the published AWA2 settings (γ = 10³, λ = 1; lr 0.01) instead of choosing on held-out seen classes' },
  merge: { type: 'string', placeholder: '<a.json,b.json>', description: 'combine the perSeed results of earlier --json runs (same settings) instead of running' },
  labels: { type: 'string', default: 'word2vec', placeholder: '<source>', description: 'label source of every objective (glove100 knows the extra animals; the shipped word2vec only the 50 AWA2 classes)' },
  animals: { type: 'string', placeholder: '<dir>', description: 'open vocabulary: a folder per extra word (e.g. ../shared/data/tiny-imagenet-animals), scored with the unseen classes; needs --labels that know the words' },
  'per-class': { type: 'integer', default: 150, description: 'photos per class (seen: 60 % train, 20 % valid, 20 % test; unseen: all test)' },
  size: { type: 'integer', default: 64, placeholder: '<px>', description: 'input size' },
  epochs: { type: 'integer', default: 10, description: 'epochs of each head (cosine, hinge, triplet, hybrid)' },
  objectives: { type: 'string', default: 'cosine,hinge,triplet,hybrid,eszsl,ale', description: 'which objectives to run' },
  'features-cache': { type: 'string', placeholder: '<file.json>', description: 'reuse the backbone features from this file (written on the first run with these settings)' },
};

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const root = path.resolve(flag(argv, 'data') ?? path.join(SHARED, 'data', 'tiny-imagenet-awa2'));
  const weights = path.resolve(flag(argv, 'weights') ?? path.join(SHARED, 'weights', 'keras-squeezenet', 'squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5'));
  const seeds = numberFlag(argv, 'seeds', 3);
  const perClass = numberFlag(argv, 'per-class', 150);
  const size = numberFlag(argv, 'size', 64);
  const epochs = numberFlag(argv, 'epochs', 10);
  const which = (flag(argv, 'objectives') ?? OBJECTIVES.join(',')).split(',').map((s) => s.trim());
  const bad = which.filter((o) => !(OBJECTIVES as readonly string[]).includes(o));
  if (bad.length) throw new Error(`--objectives: unknown ${bad.join(', ')}; choose from ${OBJECTIVES.join(', ')}.`);
  const merge = flag(argv, 'merge');
  if (merge) {
    const parts = merge.split(',').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as { settings: Record<string, unknown>; perSeed: Partial<Record<Objective, ObjectiveResult[]>> });
    const perSeed: Partial<Record<Objective, ObjectiveResult[]>> = {};
    for (const p of parts) for (const o of OBJECTIVES) if (p.perSeed[o]) (perSeed[o] ??= []).push(...p.perSeed[o]!);
    const settings = { ...parts[0]!.settings, seeds: parts.flatMap((p) => p.settings.seeds as number[]), merged: merge.split(',') };
    return { settings, ...summariseObjectives(perSeed), rssMB: rssMB() };
  }
  const backend = await initBackend();
  const cacheFile = flag(argv, 'features-cache');
  const labels = flag(argv, 'labels') ?? 'word2vec';
  const animals = flag(argv, 'animals');
  const openVocabulary = animals ? { root: path.resolve(animals), perClass } : undefined;
  const settingsKey = JSON.stringify({ root, weights, perClass, size, labels, openVocabulary });
  let set: FeatureSet;
  const cached = cacheFile && fs.existsSync(cacheFile) ? (JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { key: string; set: FeatureSet & { features: number[][] } }) : undefined;
  if (cached && cached.key === settingsKey) {
    const ov = cached.set.openVocabulary as (FeatureSet['openVocabulary'] & { features: number[][] }) | undefined;
    set = { ...cached.set, features: cached.set.features.map((r) => Float32Array.from(r)), ...(ov && { openVocabulary: { ...ov, features: ov.features.map((r) => Float32Array.from(r)) } }) };
  }
  else {
    if (cached) console.error(`${cacheFile} holds features of other settings; recomputing.`);
    set = await cacheFeatures({ root, weights, perClass, size, labels, openVocabulary });
    const plain = (rows: Float32Array[]) => rows.map((r) => Array.from(r));
    const ov = set.openVocabulary;
    if (cacheFile) fs.writeFileSync(cacheFile, JSON.stringify({ key: settingsKey, set: { ...set, features: plain(set.features), ...(ov && { openVocabulary: { ...ov, features: plain(ov.features) } }) } }));
  }
  console.error(`features: ${set.features.length} photos in ${set.featureSeconds.toFixed(1)} s`);
  const cmp = await compareObjectives(set, {
    seeds, firstSeed: numberFlag(argv, 'first-seed', 0), epochs, defaults: hasFlag(argv, 'published-defaults'), objectives: which as Objective[],
    onResult: (o, seed, r) => console.error(`seed ${seed} ${o}: seen ${r.seenTop1.toFixed(3)} (${r.seenTop1Method}), zero-shot ${r.zeroShotPerClassTop1?.toFixed(3) ?? 'n/a'}, open vocabulary ${r.openVocabularyTop1?.toFixed(3) ?? 'n/a'}, H ${r.calibratedH?.toFixed(3) ?? 'n/a'}, mAP ${r.mAP.toFixed(3)}, ${r.seconds.toFixed(1)} s`),
  });
  const count = (s: string) => set.split.filter((x) => x === s).length;
  return {
    settings: {
      data: path.relative(ROOT, root), backbone: 'squeezenet1_1 (Keras ImageNet weights, frozen; concat avg+max pool, 1024-d)', size, perClass,
      images: { train: count('train'), valid: count('valid'), test: count('test') }, seen: set.seen.map((c) => set.classes[c]), unseen: set.unseen.map((c) => set.classes[c]),
      labels: `${labels} ${set.vectors[0]!.length}-d`, openVocabulary: set.openVocabulary ? { classes: set.openVocabulary.classes.length, images: set.openVocabulary.features.length, chance: 1 / set.openVocabulary.classes.length } : null, head: '1024 → 512 ReLU → 300, Adam 1e-3, P×K batches 5 × 8', epochs, seeds: Array.from({ length: seeds }, (_, i) => numberFlag(argv, 'first-seed', 0) + i),
      triplet: 'margin 0.2, semi-hard', hinge: 'margin 0.1', hybrid: 'cosine + 1 × triplet', knn: 'k = 5, cosine',
      eszsl: 'γ, λ ∈ 10^{−3..3} chosen on 3 held-out seen classes (default AWA2 γ = 10³, λ = 1)', ale: 'lr ∈ {0.001, 0.01, 0.1, 1}, 20 epochs, chosen on the same held-out seen classes',
      featureSeconds: +set.featureSeconds.toFixed(1), backend: backend.backend,
    },
    ...cmp,
    rssMB: rssMB(),
  };
}
