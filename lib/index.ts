/**
 * devise-ts: the library's public entry. Notebooks, utils and benches import from here; the exports are grouped by
 * what a user does: data, learner, embedding, search, zero-shot, plots, export (then the run and its folder).
 *
 * A whole DeViSE run in a few calls (test/pipeline/index-example.test.ts runs these lines as written; from
 * notebooks/ import './lib/index', from elsewhere the path to lib/index):
 *
 * @example
 *   import { accuracy, buildSearch, cnnLearner, deviseConfig, ImageDataBunch, labelSourceOf, runOf, zeroShotSummary } from './lib/index';
 *   const cfg = deviseConfig({ smoke: true });                               // data_samples/, SqueezeNet, word2vec; DEVISE_* override
 *   const data = await ImageDataBunch.fromFolder(cfg.data, { size: cfg.size, bs: cfg.bs, validPct: cfg.validPct, seed: cfg.seed });
 *   const learn = await cnnLearner(data, cfg.arch, { metrics: [accuracy], weights: cfg.weights, path: cfg.out, seed: cfg.seed });
 *   await learn.lrFind({ numIt: cfg.lrFindIterations });                   // stage 1: the classifier, at the finder's rate
 *   await learn.fitOneCycle(cfg.epochs.stage1, learn.recorder.suggestedLr(), { checkpoint: 'stage1-frozen' });
 *   const source = await labelSourceOf(cfg);                                // stage 2: regress the labels' word vectors
 *   learn.toEmbedding(source.embed(data.classes));
 *   await learn.lrFind({ numIt: cfg.lrFindIterations });
 *   await learn.fitOneCycle(cfg.epochs.stage2a, learn.recorder.suggestedLr(), { checkpoint: 'stage2a' });
 *   const run = runOf(cfg, data, learn, source);                            // search indices and zero-shot evaluation
 *   const summary = zeroShotSummary(run, await buildSearch(run));
 *   console.log(summary.verdict.join('\n'));
 * @end
 */
// Setup: the backend, paths and settings, the environment and the defaults
export * from './backend/index';
export * from './preprocessing';
export * from './settings';
export * from './html';
export * from './defaults';

// Data: datasets, splits, augmentation, batches
export * from './data/rng';
export * from './data/items';
export * from './data/awa2';
export * from './data/folders';
export * from './data/transfer';
export * from './data/augment';
export * from './data/loader';
export * from './data/frame';
export * from './data/tiny-imagenet';
export * from './data/sampler';

// Learner: backbones and weights, losses, the training loop, fastai's vision API and the two-stage recipe
export * from './models/index';
export { readTorchStateDict, parseTorchStateDict, type TorchTensor } from './weights/torch';
export { readHdf5Weights, type Hdf5Weight } from './weights/hdf5';
export { downloadFile, type DownloadOptions } from './weights/download';
export * from './losses';
export * from './train/schedule';
export * from './train/optimizer';
export * from './train/callbacks';
export * from './train/metrics';
export * from './train/progress';
export * from './train/checkpoint';
export * from './train/learner';
export * from './train/recipe';
export * from './train/hypersearch';
export * from './train/estimate';
export * from './train/types';
export * from './train/vision';
export * from './train/interpret';
export * from './train/summary';

// Embedding: label spaces (word vectors, WordNet, attributes) and what stage 2 records
export * from './vectors/vec';
export * from './vectors/labels';
export * from './vectors/attributes';
export * from './vectors/wordnet';
export * from './vectors/sources';
export * from './vectors/glove100';
export * from './train/snapshots';
export * from './train/knn';

// Search: hnswlib indices of images and labels
export * from './search';

// Zero-shot: evaluation protocols, calibration, baselines
export * from './metrics';
export * from './zeroshot';
export * from './zeroshot-baselines';
export * from './zeroshot-images';
export * from './objectives';

// Plots: figures, images, PCA, rendering, display in notebooks
export * from './pca';
export * from './plots/figures';
export * from './plots/images';
export * from './plots/render';
export * from './plots/gif';
export * from './plots/display';
export * from './plots/cam';
export * from './plots/zeroshot';

// Export: for mobile and the browser
export * from './export/fold';
export * from './export/quantize';
export * from './export/model';
export * from './export/run';

// The run: the notebook's calls as one script (npm run demo), its report, and the run folder
export * from './pipeline/config';
export * from './pipeline/space';
export * from './pipeline/evaluation';
export * from './pipeline/seeds';
export * from './pipeline/run';
export * from './pipeline/compare';
export * from './pipeline/report';
export * from './pipeline/notebook';
export * from './run-folder';
