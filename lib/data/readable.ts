/**
 * The one list of readable items: every image file is probed once (its header with sharp, and its last bytes for a
 * file cut short), before any loader, index or export sees it, so every later step works on the same items.
 *
 *   const { readable, unreadable } = await settleReadable(items);   // each unreadable file reported once, by path
 *
 * The probe decodes nothing: at AWA2's 37,322 files it reads a few KB each. What it catches: a text or other
 * non-image file named .jpg, an empty file, an image over the decoder's pixel limit (a 40000×40000 PNG), a JPEG/PNG
 * cut short (no end marker), a broken or looping symbolic link, a file that cannot be read. A file damaged in its
 * middle (a progressive JPEG or a PNG with overwritten bytes) still passes; the first decode that fails marks it
 * (`markUnreadable`): it is reported once by path, the loader that met it drops it from its item list at the end of
 * that pass (`dropUnreadable`), and every later probe in this process settles it as unreadable, so indices,
 * interpretation and export all work on the same list.
 *
 *   markUnreadable(item.path, err.message);   // a decoder that failed: true the first time (report it then)
 *   dropUnreadable(items);                    // in place: rows computed so far and the list agree again
 */
import * as fs from 'node:fs';
import sharp from 'sharp';
import type { Item } from './items';

/** One file the probe (or a loader) could not read, and why, in words. */
export interface Unreadable {
  path: string;
  reason: string;
  /** The class of the item, when it came from a dataset. */
  label?: string;
}

/** The formats the pipeline decodes (sharp's names), matching IMAGE_EXTENSIONS. */
const DECODED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * The largest image decoded, in pixels: sharp's default `limitInputPixels` (0x3FFF²), which decodeImage keeps, so
 * a larger image would fail at its first batch; the probe says so once instead.
 */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;

/** Files probed at once: sharp's metadata runs on libuv's threads (4 by default); more only queue. */
const PROBE_CONCURRENCY = 16;

interface Probed {
  key: string;
  reason: string | null;
  /** Whether settleReadable has reported this version of the file already. */
  reported?: boolean;
}

// One probe per file version per process: a notebook that rebuilds its data bunch (normalize, a re-run cell) neither
// re-reads 37k headers nor reports a bad file twice.
const probed = new Map<string, Probed>();

/** Why `file` cannot be decoded, or null when its header and ending look like a whole image. */
export async function probeImage(file: string): Promise<string | null> {
  return (await probeCached(file)).reason;
}

async function probeCached(file: string): Promise<Probed> {
  let st: fs.Stats | undefined;
  let statError: NodeJS.ErrnoException | undefined;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    statError = err as NodeJS.ErrnoException;
  }
  const key = st ? `${st.size}:${st.mtimeMs}` : `stat:${statError?.code}`;
  const seen = probed.get(file);
  if (seen && seen.key === key) return seen;
  const entry: Probed = { key, reason: st ? await probeFile(file, st) : await statFailure(file, statError!) };
  probed.set(file, entry);
  return entry;
}

async function statFailure(file: string, err: NodeJS.ErrnoException): Promise<string> {
  if (err.code === 'ELOOP') return 'a symbolic link loop (the link points, directly or not, to itself)';
  if (err.code === 'ENOENT') {
    const target = await fs.promises.readlink(file).catch(() => undefined);
    return target !== undefined ? `a broken symbolic link (its target ${target} does not exist)` : 'the file disappeared after the folder was listed';
  }
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied';
  return `${err.code ?? 'error'}: ${err.message}`;
}

async function probeFile(file: string, st: fs.Stats): Promise<string | null> {
  if (!st.isFile()) return 'not a regular file';
  if (st.size === 0) return 'an empty file (0 bytes)';
  let meta: { format?: string; width?: number; height?: number };
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (err) {
    const head = await readBytes(file, 0, 64).catch(() => undefined);
    const looksText = head !== undefined && head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
    if (looksText) return `not an image: a text file (starts "${head!.toString('latin1').slice(0, 24).replace(/\s+/g, ' ').trim()}")`;
    const message = (err as Error).message;
    if (/premature end|truncated|unexpected end/i.test(message)) return `cut short (${st.size} bytes; its header is incomplete): re-download or re-copy it`;
    return `not an image sharp can read (${message.split('\n')[0]})`;
  }
  if (!meta.format || !DECODED_FORMATS.has(meta.format)) return `a ${meta.format ?? 'unknown'} file: the pipeline reads JPEG, PNG and WebP`;
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > MAX_IMAGE_PIXELS) return `too large to decode: ${w}×${h} px (${(w * h / 1e6).toFixed(0)} megapixels; the limit is ${(MAX_IMAGE_PIXELS / 1e6).toFixed(0)})`;
  if (w === 0 || h === 0) return 'an image with no pixels';
  return truncation(file, meta.format, st.size);
}

async function readBytes(file: string, position: number, length: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Whether a JPEG/PNG/WebP ends where its format says it does (a download or copy cut short does not). */
async function truncation(file: string, format: string, size: number): Promise<string | null> {
  const cut = `cut short (${size} bytes; no ${format.toUpperCase()} end marker): re-download or re-copy it`;
  if (format === 'jpeg') {
    // The EOI marker FF D9; cameras and editors may append padding or trailers after it, so look at the last 4 KB.
    const tail = await readBytes(file, Math.max(0, size - 4096), Math.min(size, 4096));
    for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return null;
    return cut;
  }
  if (format === 'png') {
    const tail = await readBytes(file, Math.max(0, size - 4096), Math.min(size, 4096));
    return tail.includes(Buffer.from('IEND', 'latin1')) ? null : cut;
  }
  if (format === 'webp') {
    // RIFF header: bytes 4..7 hold the size of what follows byte 8.
    const head = await readBytes(file, 0, 12);
    return head.length >= 8 && head.readUInt32LE(4) + 8 <= size ? null : cut;
  }
  return null;
}

/** Why a file that passed the probe failed to decode, in words (the decoder's own message is often "Unknown error"). */
export function decodeFailure(file: string, err: unknown): string {
  if (!fs.existsSync(file)) return 'the file disappeared after the folder was listed';
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return `damaged inside: its header and end look whole but decoding failed (${message}): re-download or re-copy it`;
}

/**
 * Records that `file` could not be decoded after passing the probe (`reason`: {@link decodeFailure}'s words): later
 * probes of this version of the file settle it as unreadable. Returns true the first time, so the caller reports it once.
 */
export function markUnreadable(file: string, reason: string): boolean {
  const seen = probed.get(file);
  if (seen?.reason) return false;
  let key = seen?.key;
  try {
    const st = fs.statSync(file);
    key = `${st.size}:${st.mtimeMs}`;
  } catch {
    key ??= 'decode';
  }
  probed.set(file, { key, reason, reported: true });
  return true;
}

/** Whether `file` is known unreadable in this process (probed, or marked by a failed decode). */
export function isUnreadable(file: string): boolean {
  return !!probed.get(file)?.reason;
}

/** Removes, in place, the items whose file is known unreadable; returns how many it removed. */
export function dropUnreadable(items: Item[]): number {
  let kept = 0;
  for (const it of items) if (!isUnreadable(it.path)) items[kept++] = it;
  const dropped = items.length - kept;
  items.length = kept;
  return dropped;
}

/** Options of {@link settleReadable}. */
export interface SettleOptions {
  /** Called once per unreadable file (default: a console.warn line naming it). */
  onBadFile?: (file: string, reason: string) => void;
}

/**
 * Probes every item's file once and splits the list into the readable items (order kept) and the unreadable ones,
 * each reported once by path through `onBadFile` (a file already reported in this process is not reported again).
 */
export async function settleReadable(items: readonly Item[], opts: SettleOptions = {}): Promise<{ readable: Item[]; unreadable: Unreadable[] }> {
  const report = opts.onBadFile ?? ((file: string, reason: string) => console.warn(`skipping unreadable image ${file}: ${reason}`));
  const probes: Probed[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      probes[i] = await probeCached(items[i]!.path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, items.length) }, worker));
  const readable: Item[] = [];
  const unreadable: Unreadable[] = [];
  items.forEach((it, i) => {
    const p = probes[i]!;
    if (!p.reason) return void readable.push(it);
    unreadable.push({ path: it.path, reason: p.reason, label: it.label });
    // Reported in list order (deterministic), and once per process for each version of the file.
    if (!p.reported) {
      p.reported = true;
      report(it.path, p.reason);
    }
  });
  return { readable, unreadable };
}
