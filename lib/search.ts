/**
 * Semantic search on hnswlib (cosine): an image index (embeddings + a label/path table beside it) and a label
 * index, both saved as a folder (`index.hnsw` + `table.json`, written atomically) that reloads and appends.
 *
 *   const images = new ImageIndex(300);
 *   images.add(embeddings, items.map((it) => ({ label: it.label, path: it.path })));
 *   images.save('models/awa2-images');
 *   const labels = LabelIndex.fromSource(source, classes);
 *   images.imageToText(queryEmbedding, labels, 5);   // nearest class names with scores
 *   images.textToImage('zebra', source, 10);           // zero-shot: any word the source can embed
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HierarchicalNSW } from 'hnswlib-node';
import { writeDirAtomically } from './backend/io';
import type { LabelEmbeddings, LabelSource } from './vectors/labels';

/** HNSW build/search knobs (hnswlib names): `M` links per node, `efConstruction`, search `ef` (raised to ≥ k). */
export interface IndexOptions {
  M?: number;
  efConstruction?: number;
  ef?: number;
  seed?: number;
}

/** One search result: `id` is the row in the index's table; `score` is cosine similarity (1 = same direction). */
export interface SearchHit {
  id: number;
  score: number;
  label: string;
  path?: string;
}

/** A row of the image table: the class label and where the image came from. */
export interface ImageRow {
  label: string;
  path?: string;
}

type Vectors = Float32Array | number[][];

const INDEX_FILE = 'index.hnsw';
const TABLE_FILE = 'table.json';

interface Table {
  format: 'devise-ts-search-1';
  kind: 'image' | 'label';
  space: 'cosine';
  dim: number;
  options: Required<IndexOptions>;
  rows: ImageRow[];
}

/** Splits vectors into plain `number[]` rows (hnswlib-node rejects typed arrays). */
function plainRows(v: Vectors, dim: number): number[][] {
  if (Array.isArray(v)) {
    v.forEach((r, i) => { if (r.length !== dim) throw new Error(`vector ${i} has ${r.length} values, the index is ${dim}-d`); });
    return v;
  }
  if (v.length % dim) throw new Error(`${v.length} values is not a whole number of ${dim}-d vectors`);
  return Array.from({ length: v.length / dim }, (_, i) => Array.from(v.subarray(i * dim, (i + 1) * dim)));
}

function plainQuery(v: ArrayLike<number>, dim: number): number[] {
  if (v.length !== dim) throw new Error(`query has ${v.length} values, the index is ${dim}-d`);
  return Array.from(v);
}

/** The shared HNSW + table machinery behind `ImageIndex` and `LabelIndex`. */
abstract class TableIndex {
  protected hnsw: HierarchicalNSW;
  readonly rows: ImageRow[] = [];
  readonly options: Required<IndexOptions>;

  constructor(public dim: number, opts: IndexOptions = {}, protected readonly kind: 'image' | 'label') {
    this.options = { M: opts.M ?? 16, efConstruction: opts.efConstruction ?? 200, ef: opts.ef ?? 64, seed: opts.seed ?? 100 };
    this.hnsw = new HierarchicalNSW('cosine', dim);
    this.hnsw.initIndex({ maxElements: 1024, m: this.options.M, efConstruction: this.options.efConstruction, randomSeed: this.options.seed });
  }

  get size(): number {
    return this.rows.length;
  }

  /** Appends vectors with their table rows; ids continue from the current size. */
  protected addRows(vectors: Vectors, rows: ImageRow[]): void {
    const pts = plainRows(vectors, this.dim);
    if (pts.length !== rows.length) throw new Error(`add: ${pts.length} vectors but ${rows.length} table rows`);
    const need = this.rows.length + pts.length;
    if (need > this.hnsw.getMaxElements()) this.hnsw.resizeIndex(Math.max(need, 2 * this.hnsw.getMaxElements()));
    pts.forEach((p, i) => this.hnsw.addPoint(p, this.rows.length + i));
    this.rows.push(...rows);
  }

  /** The `k` nearest rows to `query` by cosine, best first; `exclude` drops one id (the query image itself). */
  search(query: ArrayLike<number>, k: number, exclude?: number): SearchHit[] {
    const q = plainQuery(query, this.dim);
    const n = Math.min(k, this.rows.length - (exclude === undefined ? 0 : 1));
    if (n <= 0) return [];
    this.hnsw.setEf(Math.max(this.options.ef, n));
    const res = this.hnsw.searchKnn(q, n, exclude === undefined ? undefined : (id) => id !== exclude);
    return res.neighbors.map((id, i) => ({ id, score: 1 - res.distances[i]!, ...this.rows[id]! }));
  }

  /** Writes `index.hnsw` + `table.json` into `dir` atomically (a crash leaves the previous copy intact). */
  save(dir: string): void {
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'devise-hnsw-')), INDEX_FILE);
    try {
      this.hnsw.writeIndexSync(tmp);
      const table: Table = { format: 'devise-ts-search-1', kind: this.kind, space: 'cosine', dim: this.dim, options: this.options, rows: this.rows };
      writeDirAtomically(dir, { [INDEX_FILE]: fs.readFileSync(tmp), [TABLE_FILE]: JSON.stringify(table) });
    } finally {
      fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
    }
  }

  /** Replaces this index's contents with the saved folder `dir`. */
  protected read(dir: string): void {
    const tableFile = path.join(dir, TABLE_FILE);
    if (!fs.existsSync(tableFile)) throw new Error(`${tableFile} not found: ${dir} is not a saved search index`);
    const t = JSON.parse(fs.readFileSync(tableFile, 'utf8')) as Table;
    if (t.format !== 'devise-ts-search-1' || t.kind !== this.kind) throw new Error(`${tableFile}: expected a devise-ts ${this.kind} index, found ${t.kind ?? t.format}`);
    this.dim = t.dim;
    this.hnsw = new HierarchicalNSW('cosine', t.dim);
    this.hnsw.readIndexSync(path.join(dir, INDEX_FILE));
    if (this.hnsw.getCurrentCount() !== t.rows.length) throw new Error(`${dir}: index holds ${this.hnsw.getCurrentCount()} vectors but the table ${t.rows.length} rows; save again`);
    this.rows.splice(0, this.rows.length, ...t.rows);
    Object.assign(this.options, t.options);
  }
}

/** Nearest class labels for an embedding (image → text). */
export class LabelIndex extends TableIndex {
  constructor(dim: number, opts: IndexOptions = {}) {
    super(dim, opts, 'label');
  }

  /** Indexes class embeddings (`source.embed(labels)` or any `LabelEmbeddings`). */
  static fromEmbeddings(emb: Pick<LabelEmbeddings, 'labels' | 'dim' | 'vectors'>, opts: IndexOptions = {}): LabelIndex {
    const idx = new LabelIndex(emb.dim, opts);
    idx.add(emb.vectors, emb.labels);
    return idx;
  }

  /** Embeds `labels` with `source` and indexes them. */
  static fromSource(source: LabelSource, labels: string[], opts: IndexOptions = {}): LabelIndex {
    return LabelIndex.fromEmbeddings(source.embed(labels), opts);
  }

  /** Appends labels with their vectors. */
  add(vectors: Vectors, labels: string[]): void {
    this.addRows(vectors, labels.map((label) => ({ label })));
  }

  static load(dir: string): LabelIndex {
    const idx = new LabelIndex(1);
    idx.read(dir);
    return idx;
  }
}

/** Image embeddings with a label/path table: image → image, image → text, text → image. */
export class ImageIndex extends TableIndex {
  constructor(dim: number, opts: IndexOptions = {}) {
    super(dim, opts, 'image');
  }

  /** Appends image embeddings (n × dim) with one table row each. */
  add(vectors: Vectors, rows: ImageRow[]): void {
    this.addRows(vectors, rows);
  }

  /** Nearest images to an embedding, or to the image with row `id` (itself excluded). */
  imageToImage(query: ArrayLike<number> | number, k: number): SearchHit[] {
    return typeof query === 'number' ? this.search(this.hnsw.getPoint(query), k, query) : this.search(query, k);
  }

  /** The `k` nearest class labels to an image embedding (or indexed image id), with cosine scores. */
  imageToText(query: ArrayLike<number> | number, labels: LabelIndex, k: number): SearchHit[] {
    return labels.search(typeof query === 'number' ? this.hnsw.getPoint(query) : query, k);
  }

  /** Zero-shot retrieval: images nearest to any word or phrase `source` can embed (seen or unseen class). */
  textToImage(text: string, source: LabelSource, k: number): SearchHit[] {
    if (source.dim !== this.dim) throw new Error(`textToImage: ${source.name} gives ${source.dim}-d vectors, the image index is ${this.dim}-d`);
    return this.search(source.embed([text]).vectors, k);
  }

  static load(dir: string): ImageIndex {
    const idx = new ImageIndex(1);
    idx.read(dir);
    return idx;
  }
}
