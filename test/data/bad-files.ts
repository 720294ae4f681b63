/**
 * A dataset with the bad files a real download has, among good images, for the readable-items tests:
 *
 *   const ds = await makeBadFilesDataset(dir);   // ds.root, ds.bad (path → what it is), ds.good
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header declaring `w`×`h` pixels (a few hundred bytes on disk; decoding it would need w·h·3 bytes). */
export function hugePngHeader(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), pngChunk('IEND', Buffer.alloc(0))]);
}

export interface BadFilesDataset {
  root: string;
  classes: string[];
  /** Every bad file the probe catches → what it is. */
  bad: Map<string, string>;
  good: string[];
  /** With `damaged`: a JPEG whose middle bytes are overwritten (the probe passes it; decoding fails). */
  damaged?: string;
}

/**
 * Writes to `file` a progressive 200×150 photo-like JPEG with 256 bytes in its middle overwritten by stray scan
 * markers: its header and end marker are intact (the probe passes it), but decoding it fails.
 */
export async function writeDamagedJpeg(file: string, seed = 1): Promise<void> {
  const w = 200;
  const h = 150;
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (120 + 60 * Math.sin(i / 977 + seed) + (Math.imul(i + seed, 2654435761) >>> 26)) & 0xff;
  const jpeg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85, progressive: true }).toBuffer();
  const at = Math.floor(jpeg.length * 0.6);
  for (let i = 0; i < 256; i++) jpeg[at + i] = i % 2 ? 0xda : 0xff;
  fs.writeFileSync(file, jpeg);
}

/**
 * `<root>/<class>/*.jpg` for `classes` × `perClass` small JPEGs, plus in the first class: a text file named .jpg, an
 * empty file, a 40000×40000 PNG, a JPEG cut in half, a looping and a broken symbolic link (and with `damaged`, a
 * JPEG damaged in its middle); and a self-link at the root (`<root>/everything -> .`).
 */
export async function makeBadFilesDataset(root: string, classes = ['fox', 'otter', 'zebra'], perClass = 6, size = 40, opts: { damaged?: boolean } = {}): Promise<BadFilesDataset> {
  const good: string[] = [];
  for (const [ci, c] of classes.entries()) {
    const d = path.join(root, c);
    fs.mkdirSync(d, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const f = path.join(d, `${c}_${i}.jpg`);
      await sharp({ create: { width: size + 3 * i, height: size, channels: 3, background: { r: 30 + 70 * ci, g: 25 * i, b: 200 - 50 * ci } } }).jpeg().toFile(f);
      good.push(f);
    }
  }
  const d = path.join(root, classes[0]!);
  const bad = new Map<string, string>();
  const put = (name: string, what: string, write: (f: string) => void): void => {
    const f = path.join(d, name);
    write(f);
    bad.set(f, what);
  };
  put('notes.jpg', 'text', (f) => fs.writeFileSync(f, 'these are my notes, not a photo\n'));
  put('empty.jpg', 'empty', (f) => fs.writeFileSync(f, ''));
  put('huge.png', 'huge', (f) => fs.writeFileSync(f, hugePngHeader(40000, 40000)));
  const whole = fs.readFileSync(good[0]!);
  put('cut.jpg', 'truncated', (f) => fs.writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2))));
  put('loop.jpg', 'loop', (f) => fs.symlinkSync('loop.jpg', f));
  put('gone.jpg', 'broken link', (f) => fs.symlinkSync('no-such-file.jpg', f));
  fs.symlinkSync('.', path.join(root, 'everything'));
  let damaged: string | undefined;
  if (opts.damaged) await writeDamagedJpeg((damaged = path.join(d, 'damaged.jpg')));
  return { root, classes, bad, good, damaged };
}
