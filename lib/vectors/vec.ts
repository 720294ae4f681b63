/**
 * Word vectors from `.vec` text files (fastText, word2vec, GloVe without header), streamed so memory stays
 * bounded by what you keep, plus a binary cache that reopens instantly and looks up any word later.
 *
 *   const { vectors } = await readVec('wiki-news-300d-1M.vec', { keep: ['dog', 'cat'] });  // only these rows
 *   const wv = await openVectors('crawl-300d-2M.vec');   // first call builds `<file>.dvv`, later calls are instant
 *   wv.get('grizzly');                                    // Float32Array(300) | undefined
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Any word → vector lookup; implemented by in-memory results and by the binary cache. */
export interface WordVectors {
  readonly dim: number;
  readonly size: number;
  has(word: string): boolean;
  get(word: string): Float32Array | undefined;
  words(): IterableIterator<string>;
  close(): void;
}

/** What the reader saw besides the vectors: duplicates (first occurrence wins), bad UTF-8, header. */
export interface VecReport {
  file: string;
  dim: number;
  /** `N D` header if the file had one. */
  header?: { count: number; dim: number };
  /** Data rows in the file (kept or not). */
  rows: number;
  bytes: number;
  duplicates: { token: string; line: number; firstLine: number }[];
  /** Lines whose token was not valid UTF-8 (decoded with U+FFFD replacement characters). */
  invalidUtf8Lines: number[];
}

export interface ReadVecOptions {
  /** Tokens to keep; all rows when omitted (only for files that fit in memory). */
  keep?: Iterable<string>;
  /** Expected dimension; rows of another size are rejected. Default: from the header or the first row. */
  dim?: number;
  /** Receives the one-line summary of duplicates and invalid UTF-8 (default console.warn); see {@link vecWarning}. */
  onWarning?: (message: string) => void;
}

/** The one-line warning about what a reader skipped or repaired in a `.vec` (duplicates, invalid UTF-8); undefined when clean. */
export function vecWarning(r: { file: string; duplicates: number | VecReport['duplicates']; invalidUtf8Lines: number | number[] }): string | undefined {
  const dups = typeof r.duplicates === 'number' ? r.duplicates : r.duplicates.length;
  const bad = typeof r.invalidUtf8Lines === 'number' ? r.invalidUtf8Lines : r.invalidUtf8Lines.length;
  if (!dups && !bad) return undefined;
  const parts: string[] = [];
  if (dups) {
    const ex = Array.isArray(r.duplicates) ? r.duplicates.slice(0, 3).map((d) => `'${printable(d.token)}' line ${d.line} (first ${d.firstLine})`) : [];
    parts.push(`${dups} duplicate word${dups > 1 ? 's' : ''} (the first occurrence is used${ex.length ? `; e.g. ${ex.join(', ')}` : ''})`);
  }
  if (bad) {
    const ex = Array.isArray(r.invalidUtf8Lines) ? ` (line${bad > 1 ? 's' : ''} ${r.invalidUtf8Lines.slice(0, 5).join(', ')}${bad > 5 ? ', …' : ''})` : '';
    parts.push(`${bad} word${bad > 1 ? 's' : ''} with invalid UTF-8${ex}, read with U+FFFD replacement characters`);
  }
  return `warning: ${r.file}: ${parts.join('; ')}`;
}

/** A token or value as it can be shown in a message: control bytes escaped, at most 40 characters. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => (c === '\ufffd' ? '?' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/** True when bytes [s, e) hold control bytes no text .vec has (NUL, and the C0 range but tab/newline/CR). */
function hasBinaryBytes(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c < 0x09 || (c > 0x0d && c < 0x20)) return true;
  }
  return false;
}

function binaryError(file: string, line: number): Error {
  return new Error(`${file} is not a text word-vector file (binary data on line ${line}): pass a .vec text file (one word and its numbers per line); ` +
    "fastText's .bin and word2vec's binary format are not read: convert them to text first");
}

export interface VecResult extends VecReport {
  tokens: string[];
  /** Row-major `tokens.length × dim`. */
  vectors: Float32Array;
}

const SPACE = 0x20;
const TAB = 0x09;
const CHUNK = 1 << 22;

/** Streams `file` line by line into a reused buffer; `onLine(buf, start, end, lineNo)` sees bytes without the newline. */
async function scanLines(file: string, onLine: (buf: Buffer, start: number, end: number, line: number) => void): Promise<number> {
  const fh = await fs.promises.open(file, 'r');
  let buf = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let line = 0;
  let bytes = 0;
  try {
    for (;;) {
      if (filled === buf.length) {
        // A single line longer than the buffer: grow (rare; a 300-d row is ~3 KB).
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
      bytes += bytesRead;
      const end = filled + bytesRead;
      let start = 0;
      if (bytesRead === 0) {
        if (end > 0) onLine(buf, 0, end, ++line);
        return bytes;
      }
      for (let nl = buf.indexOf(10, filled); nl !== -1 && nl < end; nl = buf.indexOf(10, start)) {
        onLine(buf, start, nl, ++line);
        start = nl + 1;
      }
      buf.copy(buf, 0, start, end);
      filled = end - start;
    }
  } finally {
    await fh.close();
  }
}

/** Parses a decimal number in `buf[a, b)`; the fast path covers the `-0.123456` / `1.5e-3` forms of .vec files. */
function parseNumber(buf: Buffer, a: number, b: number): number {
  let i = a;
  let neg = false;
  if (buf[i] === 0x2d) { neg = true; i++; } else if (buf[i] === 0x2b) i++;
  let mant = 0;
  let digits = 0;
  let scale = 0;
  let seenDot = false;
  for (; i < b; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mant = mant * 10 + (c - 0x30);
      digits++;
      if (seenDot) scale++;
    } else if (c === 0x2e && !seenDot) seenDot = true;
    else break;
  }
  let exp = 0;
  if (i < b && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    let eneg = false;
    if (buf[i] === 0x2d) { eneg = true; i++; } else if (buf[i] === 0x2b) i++;
    const e0 = i;
    for (; i < b && buf[i]! >= 0x30 && buf[i]! <= 0x39; i++) exp = exp * 10 + (buf[i]! - 0x30);
    if (i === e0) return NaN;
    if (eneg) exp = -exp;
  }
  // Anything unusual (too many digits for an exact mantissa, inf/nan text, junk) goes through Number().
  if (i !== b || digits === 0 || digits > 15 || Math.abs(exp - scale) > 22) return Number(buf.toString('latin1', a, b));
  const p = exp - scale;
  const v = p >= 0 ? mant * 10 ** p : mant / 10 ** -p;
  return neg ? -v : v;
}

/**
 * Streams a `.vec` file and calls `onRow` for every data row whose token passes `wanted` (values are a reused
 * buffer: copy them). Validates every row's dimension, whether kept or not.
 */
async function scanVec(
  file: string,
  opts: { dim?: number; wanted?: (token: string) => boolean },
  onRow: (token: string, values: Float32Array, line: number) => void,
): Promise<VecReport> {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) throw new Error(`word-vector file ${file} does not exist: pass a .vec text file (e.g. fastText's crawl-300d-2M.vec)`);
  if (st.isDirectory()) throw new Error(`${file} is a folder, not a word-vector file: pass the .vec file inside it`);
  const report: VecReport = { file, dim: opts.dim ?? 0, rows: 0, bytes: 0, duplicates: [], invalidUtf8Lines: [] };
  let values = new Float32Array(report.dim);
  const starts: number[] = [];
  const ends: number[] = [];
  let first = true;
  report.bytes = await scanLines(file, (buf, s, e, line) => {
    if (line === 1 && e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
    if (line === 1 && hasBinaryBytes(buf, s, Math.min(e, s + 4096))) throw binaryError(file, line);
    // Split on runs of spaces/tabs; trailing '\r' (CRLF files) and trailing spaces are ignored.
    let n = 0;
    for (let i = s; i < e; ) {
      let c = buf[i]!;
      if (c === SPACE || c === TAB || c === 13) { i++; continue; }
      starts[n] = i;
      while (i < e && (c = buf[i]!) !== SPACE && c !== TAB && c !== 13) i++;
      ends[n++] = i;
    }
    if (n === 0) return;
    if (first) {
      first = false;
      if (n === 2 && /^\d+$/.test(buf.toString('latin1', starts[0], ends[0])) && /^\d+$/.test(buf.toString('latin1', starts[1], ends[1]))) {
        const header = { count: Number(buf.toString('latin1', starts[0], ends[0])), dim: Number(buf.toString('latin1', starts[1], ends[1])) };
        if (opts.dim && opts.dim !== header.dim) throw new Error(`${file}:1: header says dimension ${header.dim}, but ${opts.dim} was requested`);
        report.header = header;
        report.dim = header.dim;
        values = new Float32Array(report.dim);
        return;
      }
      if (!report.dim) {
        report.dim = n - 1;
        values = new Float32Array(report.dim);
      }
    }
    report.rows++;
    if (n - 1 !== report.dim) {
      if (hasBinaryBytes(buf, s, e)) throw binaryError(file, line);
      throw new Error(`${file}:${line}: expected a token and ${report.dim} values, found ${n - 1} values; ` +
        'the file is truncated or mixes dimensions (tokens containing spaces are not supported); fix or remove this row');
    }
    const token = buf.toString('utf8', starts[0], ends[0]);
    if (token.includes('\uFFFD')) report.invalidUtf8Lines.push(line);
    if (opts.wanted && !opts.wanted(token)) return;
    for (let j = 1; j < n; j++) {
      const v = parseNumber(buf, starts[j]!, ends[j]!);
      if (Number.isNaN(v)) {
        if (hasBinaryBytes(buf, s, e)) throw binaryError(file, line);
        throw new Error(`${file}:${line}: value ${j} '${printable(buf.toString('utf8', starts[j], ends[j]))}' of '${printable(token)}' is not a number`);
      }
      values[j - 1] = v;
    }
    onRow(token, values, line);
  });
  if (!report.dim) throw new Error(`${file}: no vectors found (empty file?)`);
  return report;
}

/** Reads a `.vec` file keeping only `keep` tokens (memory ∝ kept rows); the first of duplicate tokens wins. */
export async function readVec(file: string, opts: ReadVecOptions = {}): Promise<VecResult> {
  const keep = opts.keep ? new Set(opts.keep) : undefined;
  const firstLine = new Map<string, number>();
  const tokens: string[] = [];
  const duplicates: VecReport['duplicates'] = [];
  let data = new Float32Array(0);
  const report = await scanVec(file, { dim: opts.dim, wanted: keep ? (t) => keep.has(t) : undefined }, (token, values, line) => {
    const seen = firstLine.get(token);
    if (seen !== undefined) {
      duplicates.push({ token, line, firstLine: seen });
      return;
    }
    firstLine.set(token, line);
    const dim = values.length;
    if ((tokens.length + 1) * dim > data.length) {
      const grown = new Float32Array(Math.max(dim * 64, data.length * 2, keep ? keep.size * dim : 0));
      grown.set(data);
      data = grown;
    }
    data.set(values, tokens.length * dim);
    tokens.push(token);
  });
  const warning = vecWarning({ ...report, duplicates });
  if (warning) (opts.onWarning ?? ((m: string) => console.warn(m)))(warning);
  return { ...report, duplicates, tokens, vectors: data.slice(0, tokens.length * report.dim) };
}

/** Wraps tokens + row-major vectors as a `WordVectors` lookup. */
export function memoryVectors(tokens: string[], vectors: Float32Array, dim: number): WordVectors {
  const row = new Map<string, number>();
  tokens.forEach((t, i) => { if (!row.has(t)) row.set(t, i); });
  return {
    dim,
    size: row.size,
    has: (w) => row.has(w),
    get: (w) => {
      const i = row.get(w);
      return i === undefined ? undefined : vectors.slice(i * dim, (i + 1) * dim);
    },
    words: () => row.keys(),
    close: () => {},
  };
}

// ---- binary cache: [4 KiB header: magic + JSON][float32 rows][vocabulary, '\n'-joined UTF-8] ----

const MAGIC = 'DEVISE-VEC-CACHE-1\n';
const HEADER_BYTES = 4096;

interface CacheHeader {
  dim: number;
  count: number;
  source: string;
  sourceSize: number;
  sourceMtimeMs: number;
  vocabOffset: number;
  vocabBytes: number;
  duplicates: number;
  /** Words with invalid UTF-8 (absent in caches written before it was recorded). */
  invalidUtf8?: number;
}

function readCacheHeader(cacheFile: string): CacheHeader | undefined {
  if (!fs.existsSync(cacheFile)) return undefined;
  const fd = fs.openSync(cacheFile, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
    const text = buf.toString('utf8');
    if (!text.startsWith(MAGIC)) throw new Error(`${cacheFile}: not a devise-ts vector cache (bad magic); delete it to rebuild`);
    return JSON.parse(text.slice(MAGIC.length).replace(/[\s\0]+$/, '')) as CacheHeader;
  } finally {
    fs.closeSync(fd);
  }
}

/** Default cache path: beside the `.vec` when that folder is writable, else under the OS temp folder. */
export function defaultCachePath(vecFile: string): string {
  const abs = path.resolve(vecFile);
  try {
    fs.accessSync(path.dirname(abs), fs.constants.W_OK);
    return `${abs}.dvv`;
  } catch {
    const safe = abs.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-180);
    return path.join(os.tmpdir(), 'devise-ts-vectors', `${safe}.dvv`);
  }
}

/**
 * Writes a binary cache row by row (rows in order, memory ∝ the vocabulary): `add` each word once, then `finish`
 * writes the vocabulary and the header and renames the temp file into place; `abort` drops it.
 */
export class VecCacheWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly tokens: string[] = [];
  private out = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  private pos = HEADER_BYTES;
  dim = 0;

  constructor(readonly cacheFile: string) {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    this.tmp = `${cacheFile}.tmp-${process.pid}-${Date.now()}`;
    this.fd = fs.openSync(this.tmp, 'w');
  }

  /** Words written so far. */
  get count(): number {
    return this.tokens.length;
  }

  /** Appends one row (the caller skips duplicates; a token may not contain a newline). */
  add(token: string, values: Float32Array): void {
    if (!this.dim) this.dim = values.length;
    if (values.length !== this.dim) throw new Error(`${this.cacheFile}: row '${printable(token)}' has ${values.length} values, not ${this.dim}`);
    if (token.includes('\n')) throw new Error(`${this.cacheFile}: word '${printable(token)}' contains a newline`);
    this.tokens.push(token);
    const nb = values.byteLength;
    if (nb > this.out.length) this.out = Buffer.allocUnsafe(nb);
    if (this.used + nb > this.out.length) this.flush();
    Buffer.from(values.buffer, values.byteOffset, nb).copy(this.out, this.used);
    this.used += nb;
  }

  private flush(): void {
    fs.writeSync(this.fd, this.out, 0, this.used, this.pos);
    this.pos += this.used;
    this.used = 0;
  }

  /** Writes vocabulary and header (with `meta`: where the rows came from) and moves the cache into place. */
  finish(meta: Pick<CacheHeader, 'source' | 'sourceSize' | 'sourceMtimeMs' | 'duplicates' | 'invalidUtf8'>): void {
    this.flush();
    const vocab = Buffer.from(this.tokens.join('\n'), 'utf8');
    fs.writeSync(this.fd, vocab, 0, vocab.length, this.pos);
    const header: CacheHeader = { dim: this.dim, count: this.tokens.length, ...meta, vocabOffset: this.pos, vocabBytes: vocab.length };
    const head = Buffer.alloc(HEADER_BYTES, 0x20);
    const text = MAGIC + JSON.stringify(header) + '\n';
    if (Buffer.byteLength(text) > HEADER_BYTES) throw new Error(`${meta.source}: path too long for the cache header`);
    head.write(text, 0, 'utf8');
    fs.writeSync(this.fd, head, 0, HEADER_BYTES, 0);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.cacheFile);
  }

  /** Closes and deletes the temp file (after an error). */
  abort(): void {
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    fs.rmSync(this.tmp, { force: true });
  }
}

/** Converts a `.vec` file to the binary cache in one streaming pass (temp file + rename); returns the report. */
export async function buildVecCache(vecFile: string, cacheFile = defaultCachePath(vecFile)): Promise<VecReport> {
  const stat = fs.statSync(vecFile);
  const writer = new VecCacheWriter(cacheFile);
  try {
    const row = new Map<string, number>();
    const duplicates: VecReport['duplicates'] = [];
    const report = await scanVec(vecFile, {}, (token, values, line) => {
      const first = row.get(token);
      if (first !== undefined) {
        duplicates.push({ token, line, firstLine: first });
        return;
      }
      row.set(token, line);
      writer.add(token, values);
    });
    writer.dim = report.dim;
    writer.finish({ source: path.resolve(vecFile), sourceSize: stat.size, sourceMtimeMs: stat.mtimeMs, duplicates: duplicates.length, invalidUtf8: report.invalidUtf8Lines.length });
    return { ...report, duplicates };
  } catch (err) {
    writer.abort();
    throw err;
  }
}

/** Opens a binary cache: loads the vocabulary only; each `get` reads one row from disk. */
export function openVecCache(cacheFile: string): WordVectors {
  const h = readCacheHeader(cacheFile);
  if (!h) throw new Error(`${cacheFile}: no such vector cache`);
  const fd = fs.openSync(cacheFile, 'r');
  const vocab = Buffer.alloc(h.vocabBytes);
  fs.readSync(fd, vocab, 0, h.vocabBytes, h.vocabOffset);
  const row = new Map<string, number>();
  if (h.count > 0) vocab.toString('utf8').split('\n').forEach((t, i) => row.set(t, i));
  const rowBytes = h.dim * 4;
  let open = true;
  return {
    dim: h.dim,
    size: h.count,
    has: (w) => row.has(w),
    get: (w) => {
      const i = row.get(w);
      if (i === undefined) return undefined;
      if (!open) throw new Error(`${cacheFile}: vectors were closed`);
      const out = new Float32Array(h.dim);
      fs.readSync(fd, new Uint8Array(out.buffer), 0, rowBytes, HEADER_BYTES + i * rowBytes);
      return out;
    },
    words: () => row.keys(),
    close: () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/**
 * Opens word vectors for repeated lookups: a `.dvv` cache directly, or a `.vec` file through its cache
 * (built on first use, rebuilt when the `.vec` changes size or mtime).
 */
export async function openVectors(file: string, opts: { cache?: string; onWarning?: (message: string) => void } = {}): Promise<WordVectors> {
  const warn = opts.onWarning ?? ((m: string) => console.warn(m));
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) throw new Error(`word-vector file ${file} does not exist: pass a .vec text file (e.g. fastText's crawl-300d-2M.vec)`);
  if (st.isDirectory()) throw new Error(`${file} is a folder, not a word-vector file: pass the .vec file inside it`);
  if (file.endsWith('.dvv')) return openVecCache(file);
  const cache = opts.cache ?? defaultCachePath(file);
  let h = readCacheHeader(cache);
  if (!h || h.sourceSize !== st.size || h.sourceMtimeMs !== st.mtimeMs) {
    await buildVecCache(file, cache);
    h = readCacheHeader(cache)!;
  }
  // The same one-line summary readVec gives, from the counts the cache recorded when it was built.
  const warning = vecWarning({ file, duplicates: h.duplicates, invalidUtf8Lines: h.invalidUtf8 ?? 0 });
  if (warning) warn(warning);
  return openVecCache(cache);
}
