/**
 * The static search app: loads an export (`export/model/model.json` + shards, labels.json, images.json,
 * images.bin; from file:// the same files inlined in `export/bundle.js`), then answers image → text,
 * image → image and text → image with an exact cosine scan. The tfjs backend (WebGPU, WebGL, wasm with SIMD and
 * threads) is picked by a measured warm-up of the model on this device (./backend.ts); `?backend=` forces one.
 *
 * Test hooks: `window.devise` = { ready, backend, threads, isolated, simd, measuredMs, loadMs, loadSteps, warmUpMs, error,
 * last: {kind, ms, labels?, images?}, nearestLabel(bytes) }. `?warmup=0` turns the background warm-up off.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormAfterConv, foldArtifacts, type NamedWeight, type TopologyJson } from '../../lib/export/fold';
import { encodeWeights } from '../../lib/export/quantize';
import { BACKENDS, type BackendChoice, chooseBackend, forgetBackend, loadScript, prepareWasm } from './backend';
import { centerCropRgb, cosineTopK, displayName, findLabel, fromBase64, type Hit, normalizeInto, normalizeRows, type Preprocessing, rgbaToRgbOnWhite, rowsFromInt8 } from './core';

interface Meta { arch: string; inputSize: number; dim: number; preprocessing: Preprocessing; quantize: string }
interface Labels { source: string; dim: number; classes: string[]; seen: boolean[]; vectors: number[][]; gamma?: number }
/** One image of the index; `thumb` only for the gallery (at most a few per class: lib/export/run.ts galleryIndices). */
interface ImageRow { label: string; split: string; seen: boolean; thumb?: string; file: string }
interface Bundle { [file: string]: string }

interface State {
  model: tf.LayersModel;
  meta: Meta;
  labels: Labels;
  /** Unit label vectors, classes × dim. */
  labelTable: Float32Array;
  rows: ImageRow[];
  /** Unit image embeddings, images × dim. */
  imageTable: Float32Array;
  /**
   * The model's input, size × size × 3, rewritten by every query: the first writes into a freshly allocated
   * 600 KB array fault its pages in, so one array is kept rather than one allocated per query.
   */
  input: Float32Array;
}

interface Last { kind: 'image' | 'text'; ms: number; /** The model's part of an image query (preprocessing and search excluded). */ modelMs?: number; labels?: { label: string; seen: boolean; score: number }[]; images?: { label: string; score: number; thumb: boolean }[] }
/** When each step of the load ended, in ms from its start (the backend is ready when the model is first wanted). */
interface LoadSteps { modelJson?: number; downloads?: number; backend?: number; model?: number; firstRun?: number }
const hooks: Partial<BackendChoice> & { ready?: Promise<void>; loadMs?: number; loadSteps?: LoadSteps; warmUpMs?: number; last?: Last; error?: string; nearestLabel?: (bytes: Uint8Array) => Promise<string> } = {};
(window as unknown as { devise: typeof hooks }).devise = hooks;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Loads export/bundle.js once (file:// only): it sets window.DEVISE_BUNDLE. */
const loadBundle = () => loadScript('export/bundle.js', 'export/bundle.js is missing: run `npm run app` to build the app folder');

/** The export's files: fetched over http(s), or from the inlined bundle under file://. */
async function source(): Promise<{ text(f: string): Promise<string>; bytes(f: string): Promise<Uint8Array> }> {
  if (location.protocol === 'file:') {
    await loadBundle();
    const b = (window as unknown as { DEVISE_BUNDLE: Bundle }).DEVISE_BUNDLE;
    const get = (f: string) => {
      const v = b[f];
      if (v === undefined) throw new Error(`export/bundle.js has no ${f}`);
      return v;
    };
    return { text: async (f) => new TextDecoder().decode(fromBase64(get(f))), bytes: async (f) => fromBase64(get(f)) };
  }
  const get = async (f: string) => {
    const r = await fetch(`export/${f}`);
    if (!r.ok) throw new Error(`export/${f}: HTTP ${r.status}`);
    return r;
  };
  return { text: async (f) => (await get(f)).text(), bytes: async (f) => new Uint8Array(await (await get(f)).arrayBuffer()) };
}

/**
 * Fetches the export, prepares the wasm binary, then builds the model on the backend the measured warm-up picks
 * (./backend.ts): the first warm-up run also moves the weights there and compiles, so the first query pays for
 * neither. Only model.json (the backend's key) is awaited first: the weights, labels and images download while the
 * backend starts. `steps` gets when each step ended.
 */
async function load(steps: LoadSteps): Promise<{ st: State; choice: BackendChoice }> {
  const t0 = performance.now();
  const ended = (step: keyof LoadSteps) => (steps[step] ??= performance.now() - t0);
  const forced = new URLSearchParams(location.search).get('backend');
  const [src] = await Promise.all([source(), prepareWasm()]);
  const modelJson = JSON.parse(await src.text('model/model.json')) as { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; modelTopology: TopologyJson; userDefinedMetadata: { devise: Meta } };
  ended('modelJson');
  const files = Promise.all([
    Promise.all(modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => src.bytes(`model/${p}`)))),
    src.text('labels.json'),
    src.text('images.json'),
    src.bytes('images.bin'),
  ]);
  files.then(() => ended('downloads'), () => undefined); // a failed download is reported where it is awaited (warm-up or below)
  const meta = modelJson.userDefinedMetadata.devise;
  let model: tf.LayersModel | undefined;
  const warm = async () => {
    if (!model) {
      ended('backend');
      const [shards] = await files;
      const weightData = tf.io.CompositeArrayBuffer.join(shards.map((b) => b.slice().buffer));
      model = await foldedModel(modelJson.modelTopology, modelJson.weightsManifest.flatMap((g) => g.weights), weightData);
      ended('model');
    }
    const y = tf.tidy(() => forward(model!, tf.zeros([1, meta.inputSize, meta.inputSize, 3])));
    await y.data();
    y.dispose();
    ended('firstRun');
  };
  const choice = await chooseBackend(forced, backendKey(meta), warm);
  const [, labelsText, imagesText, bin] = await files;
  const labels = JSON.parse(labelsText) as Labels;
  const images = JSON.parse(imagesText) as { dim: number; encoding?: 'int8-rows'; rows: ImageRow[] };
  // A quarter of the bytes in int8 (lib/export/run.ts int8Rows); an older export holds float32.
  const imageTable = images.encoding === 'int8-rows' ? rowsFromInt8(bin, images.dim) : normalizeRows(new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4), images.dim);
  const labelTable = normalizeRows(Float32Array.from(labels.vectors.flat()), labels.dim);
  return { st: { model: model!, meta, labels, labelTable, rows: images.rows, imageTable, input: new Float32Array(meta.inputSize * meta.inputSize * 3) }, choice };
}

/** The model on one image. `apply` rather than `predict`: predict slices its input into batches, a copy of the whole input on every call. */
const forward = (model: tf.LayersModel, x: tf.Tensor4D) => model.apply(x, { training: false }) as tf.Tensor;

/**
 * The model in the fastest form tfjs runs: every plain ReLU fused into its Conv2D/Dense and Dropout removed
 * (lib/export/fold.ts, the export's own code). BatchNorm is folded into the weights only where it follows a
 * convolution (ResNets): the weights are then dequantised as tfjs loads them and folded here (a uint8 export ships
 * BatchNorm unfolded: folding before quantising costs accuracy). Elsewhere (SqueezeNet: BatchNorm only in the head)
 * it stays a layer and tfjs reads the export's own quantised weights, without a decode → fold → encode pass at load.
 */
async function foldedModel(topology: TopologyJson, specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): Promise<tf.LayersModel> {
  if (!batchNormAfterConv(topology)) {
    const inf = foldArtifacts(topology, [], { before: false, after: false });
    return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: inf.topology, weightSpecs: specs, weightData: data }));
  }
  const decoded = tf.io.decodeWeights(data, specs);
  const weights: NamedWeight[] = specs.map((s) => ({ name: s.name, shape: s.shape, values: decoded[s.name]!.dataSync() as Float32Array }));
  tf.dispose(Object.values(decoded));
  const inf = foldArtifacts(topology, weights);
  const fp32 = encodeWeights(inf.weights, 'none');
  const weightData = fp32.data.slice().buffer; // its own ArrayBuffer, exactly the bytes
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: inf.topology, weightSpecs: fp32.specs as tf.io.WeightsManifestEntry[], weightData }));
}

/** Where the measured choice is remembered: per model form (and, through localStorage, per browser profile). */
const backendKey = (m: Meta) => `devise-backend:${m.arch}:${m.inputSize}:${m.quantize}:${navigator.userAgent}`;

/** The embedding in progress: one at a time, as they share `State.input` (a query can meet a warm-up run). */
let embedding: Promise<unknown> = Promise.resolve();

/** The image's embedding: the library's preprocessing, then the model on the chosen backend. */
function embed(st: State, file: Blob, onModelMs?: (ms: number) => void): Promise<Float32Array> {
  const run = embedding.then(async () => {
    const x = await pixels(file, st);
    const t0 = performance.now();
    const y = tf.tidy(() => forward(st.model, tf.tensor4d(x, [1, st.meta.inputSize, st.meta.inputSize, 3])));
    const emb = (await y.data()) as Float32Array;
    onModelMs?.(performance.now() - t0);
    y.dispose();
    return emb;
  });
  embedding = run.catch(() => undefined);
  return run;
}

/** The canvas every query's photo is drawn on to read its pixels (one, as embeddings run one at a time). */
let decodeCanvas: HTMLCanvasElement | undefined;

/** The library's preprocessing of one image file: EXIF-oriented decode, alpha on white, resize, center crop, normalise. */
async function pixels(file: Blob, st: State): Promise<Float32Array> {
  let bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const size = st.meta.inputSize;
  const short = Math.min(bmp.width, bmp.height);
  if (short > 4 * size) {
    // A phone photo: let the browser shrink it to twice the target first (as sharp's shrink-on-load and box
    // shrink do), then the Lanczos-3 reduce below; keeps a 12 MP photo from needing ~150 MB of floats.
    const f = (2 * size) / short;
    const big = bmp;
    bmp = await createImageBitmap(big, { resizeWidth: Math.round(big.width * f), resizeHeight: Math.round(big.height * f), resizeQuality: 'high' });
    big.close();
  }
  const canvas = (decodeCanvas ??= document.createElement('canvas'));
  canvas.width = bmp.width; // also clears it
  canvas.height = bmp.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bmp, 0, 0);
  const rgb = rgbaToRgbOnWhite(ctx.getImageData(0, 0, bmp.width, bmp.height).data);
  const crop = centerCropRgb(rgb, bmp.width, bmp.height, st.meta.inputSize);
  bmp.close();
  normalizeInto(crop, st.input, 0, st.meta.preprocessing);
  return st.input;
}

/** A hit: its thumbnail, or for an image outside the gallery a tile with its file name (the search covers it). */
function figure(row: ImageRow, score: number): HTMLElement {
  const f = document.createElement('figure');
  f.dataset['label'] = row.label;
  let pic: HTMLElement;
  if (row.thumb) {
    const img = document.createElement('img');
    img.src = row.thumb;
    img.alt = displayName(row.label);
    pic = img;
  } else {
    pic = document.createElement('div');
    pic.className = 'nothumb';
    pic.title = 'outside the gallery: no thumbnail in this app';
    pic.textContent = row.file;
  }
  const cap = document.createElement('figcaption');
  cap.textContent = `${displayName(row.label)} ${score.toFixed(2)}`;
  f.append(pic, cap);
  return f;
}

/** Hits as the test hooks report them. */
const hitRows = (st: State, hits: Hit[]) => hits.map((h) => ({ label: st.rows[h.index]!.label, score: h.score, thumb: st.rows[h.index]!.thumb !== undefined }));

let lastEmbedding: Float32Array | undefined;

/**
 * Top-5 labels of an embedding: all labels with the report's calibrated stacking (γ subtracted from seen-label
 * scores, when the export has one), or with the toggle only the unseen ones (the zero-shot protocol).
 */
function labelHitsOf(st: State, emb: Float32Array): Hit[] {
  if ($<HTMLInputElement>('unseen-only').checked) return cosineTopK(emb, st.labelTable, st.labels.dim, 5, (i) => st.labels.seen[i]!);
  const gamma = st.labels.gamma ?? 0;
  return cosineTopK(emb, st.labelTable, st.labels.dim, 5, undefined, gamma ? (i) => (st.labels.seen[i] ? -gamma : 0) : undefined);
}

function showLabels(st: State, labelHits: Hit[]): void {
  const ol = $('labels');
  ol.replaceChildren(...labelHits.map((h) => {
    const li = document.createElement('li');
    const label = st.labels.classes[h.index]!;
    const seen = st.labels.seen[h.index]!;
    li.dataset['label'] = label;
    li.innerHTML = `<span></span><span class="tag ${seen ? 'seen' : 'unseen'}">${seen ? 'seen' : 'unseen'}</span><span class="score">${h.score.toFixed(3)}</span>`;
    li.firstElementChild!.textContent = displayName(label);
    return li;
  }));
}

async function queryImage(st: State, file: Blob): Promise<void> {
  let modelMs = 0;
  const t0 = performance.now();
  const emb = await embed(st, file, (ms) => (modelMs = ms));
  lastEmbedding = emb;
  const tModel = performance.now();
  const labelHits = labelHitsOf(st, emb);
  const imageHits = cosineTopK(emb, st.imageTable, st.labels.dim, 8);
  const ms = performance.now() - t0;
  // The photo appears with its results: an <img> decoding the same file during the query slowed the query's own decode.
  const q = $('query') as HTMLImageElement;
  if (q.src.startsWith('blob:')) URL.revokeObjectURL(q.src);
  q.src = URL.createObjectURL(file);
  q.style.display = 'block';
  showLabels(st, labelHits);
  $('neighbours').replaceChildren(...imageHits.map((h) => figure(st.rows[h.index]!, h.score)));
  $('image-timing').textContent = `query ${ms.toFixed(0)} ms (decode ${(tModel - t0 - modelMs).toFixed(0)} ms, model ${modelMs.toFixed(0)} ms, search ${(ms - (tModel - t0)).toFixed(1)} ms)`;
  $('image-results').hidden = false;
  hooks.last = { kind: 'image', ms, modelMs, labels: labelHits.map((h) => ({ label: st.labels.classes[h.index]!, seen: st.labels.seen[h.index]!, score: h.score })), images: hitRows(st, imageHits) };
}

function queryText(st: State, word: string): void {
  const t0 = performance.now();
  const i = findLabel(word, st.labels.classes);
  const out = $('text-results');
  if (i < 0) {
    out.replaceChildren();
    $('text-timing').textContent = word.trim() ? `"${word}" is not in the vocabulary (${st.labels.classes.length} classes)` : '';
    return;
  }
  const hits = cosineTopK(st.labelTable.subarray(i * st.labels.dim, (i + 1) * st.labels.dim), st.imageTable, st.labels.dim, 8);
  const ms = performance.now() - t0;
  out.replaceChildren(...hits.map((h) => figure(st.rows[h.index]!, h.score)));
  const seen = st.labels.seen[i];
  $('text-timing').textContent = `${displayName(st.labels.classes[i]!)} (${seen ? 'seen' : 'unseen'} class): ${ms.toFixed(1)} ms`;
  hooks.last = { kind: 'text', ms, images: hitRows(st, hits) };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadSteps: LoadSteps = {};
  const { st, choice } = await load(loadSteps);
  const loadMs = performance.now() - t0;
  hooks.nearestLabel = async (bytes) => st.labels.classes[cosineTopK(await embed(st, new Blob([bytes as Uint8Array<ArrayBuffer>])), st.labelTable, st.labels.dim, 1)[0]!.index]!;
  Object.assign(hooks, choice, { loadMs, loadSteps });
  $('status').textContent = `${st.meta.arch} ${st.meta.inputSize}px · ${st.meta.quantize === 'none' ? 'fp32' : st.meta.quantize} · ${describeBackend(choice)} · ${st.labels.classes.length} labels · ${galleryLine(st.rows)}${st.labels.gamma ? ` · GZSL γ ${st.labels.gamma.toFixed(2)}` : ''} · loaded in ${loadMs.toFixed(0)} ms`;
  backendSelector(choice, backendKey(st.meta));
  const vocab = $('vocabulary');
  vocab.replaceChildren(...st.labels.classes.map((c) => Object.assign(document.createElement('option'), { value: displayName(c) })));
  let queried = false;
  const warming = new URLSearchParams(location.search).get('warmup') === '0' ? Promise.resolve(0) : warmUp(st, () => queried);
  warming.then((ms) => (hooks.warmUpMs = ms), showError);
  const onFile = (f: File | undefined) => {
    queried = true;
    if (f) queryImage(st, f).catch(showError);
  };
  for (const id of ['camera', 'file']) $<HTMLInputElement>(id).addEventListener('change', (e) => onFile((e.target as HTMLInputElement).files?.[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    onFile(e.dataTransfer?.files[0]);
  });
  $<HTMLInputElement>('unseen-only').addEventListener('change', () => {
    if (lastEmbedding) showLabels(st, labelHitsOf(st, lastEmbedding));
  });
  $<HTMLInputElement>('word').addEventListener('input', (e) => queryText(st, (e.target as HTMLInputElement).value));
}

/**
 * After load, the app keeps answering image queries in the background, one per task (a tap or a query waits for at
 * most one), on two generated JPEGs, one smaller and one larger than the input (the enlarging and the shrinking
 * resize), for 30 queries, 2 s or until a real query comes. V8 moves a wasm function (and JavaScript) to its
 * optimising tier only after it has used a budget of calls and loop iterations, which XNNPACK's per-operator code
 * and the preprocessing use up only over many queries: without this, the first queries after load are the slow ones
 * (`npm run bench -- app` reports both: coldQueryMs without it, queryMs with it). Returns how long it ran.
 */
async function warmUp(st: State, stop: () => boolean): Promise<number> {
  const t0 = performance.now();
  const photos = await Promise.all([st.meta.inputSize >> 1, (3 * st.meta.inputSize) >> 1].map(generatedJpeg));
  for (let run = 0; run < 30 && performance.now() - t0 < 2000; run++) {
    await new Promise((r) => setTimeout(r, 0));
    if (stop()) break;
    await embed(st, photos[run % 2]!);
  }
  return performance.now() - t0;
}

/** A `side`² JPEG of a colour gradient (the warm-up's photo). */
function generatedJpeg(side: number): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = side;
  const ctx = canvas.getContext('2d')!;
  const g = ctx.createLinearGradient(0, 0, side, side);
  g.addColorStop(0, '#4a7'); // any picture: only the decode, resize and model code paths matter
  g.addColorStop(1, '#c63');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, side, side);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the warm-up photo could not be encoded'))), 'image/jpeg'));
}

/** 'searching 37,322 images; thumbnails for 1,000 of them', or '243 images' when every image has one. */
function galleryLine(rows: ImageRow[]): string {
  const n = rows.length;
  const k = rows.filter((r) => r.thumb !== undefined).length;
  const fmt = (v: number) => v.toLocaleString('en-US');
  return k === n ? `${fmt(n)} images` : `searching ${fmt(n)} images; thumbnails for ${fmt(k)} of them (the others show their file name)`;
}

/** 'wasm (SIMD, 2 threads)', or why it runs on one thread. */
function describeBackend(c: BackendChoice): string {
  if (c.backend !== 'wasm') return c.backend;
  const why = location.protocol === 'file:' ? 'single-threaded: opened from file://, `npm run app` serves it with threads'
    : !c.isolated ? 'single-threaded: the page is not cross-origin isolated (COOP/COEP headers)' : `${c.threads} thread${c.threads === 1 ? '' : 's'}`;
  return `wasm (${c.simd ? 'SIMD, ' : ''}${why})`;
}

/** The backend selector: "auto" (the measured choice) or one forced through `?backend=` (reloads the page). */
function backendSelector(c: BackendChoice, key: string): void {
  const select = $<HTMLSelectElement>('backend');
  const forced = new URLSearchParams(location.search).get('backend');
  const label = (b: string) => (c.measuredMs[b] !== undefined ? `${b} (${c.measuredMs[b]!.toFixed(0)} ms)` : c.skipped[b] ? `${b} (unavailable)` : b);
  select.replaceChildren(
    Object.assign(document.createElement('option'), { value: '', textContent: `auto: ${c.backend}${c.remembered ? ' (remembered)' : ''}`, selected: !forced }),
    ...BACKENDS.map((b) => Object.assign(document.createElement('option'), { value: b, textContent: label(b), selected: forced === b, title: c.skipped[b] ?? '' })),
  );
  select.hidden = false;
  select.addEventListener('change', () => {
    const url = new URL(location.href);
    if (select.value) url.searchParams.set('backend', select.value);
    else {
      url.searchParams.delete('backend');
      forgetBackend(key); // "auto" measures again
    }
    location.href = url.href;
  });
}

function showError(err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  hooks.error = msg;
  $('error').textContent = msg;
  $('status').textContent = 'error';
}

hooks.ready = main().catch((err) => {
  showError(err);
  throw err;
});
