import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile } from '../../lib/weights/download';
import { ROOT, tempDir } from '../helpers';

// A deterministic 300 kB fixture (xorshift bytes).
const FIXTURE = (() => {
  const b = Buffer.alloc(300_000);
  let s = 12345;
  for (let i = 0; i < b.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    b[i] = s & 0xff;
  }
  return b;
})();
const SHA = createHash('sha256').update(FIXTURE).digest('hex');

let server: http.Server;
let base: string;
let ranges: (string | undefined)[] = [];
let mode: 'normal' | 'ignore-range' | 'drop' = 'normal';
let tmp: { dir: string; cleanup: () => void };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    if (req.url === '/moved') {
      res.writeHead(302, { Location: '/file.pth' });
      return res.end();
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m && mode !== 'ignore-range' ? Number(m[1]) : 0;
    if (start >= FIXTURE.length) {
      res.writeHead(416);
      return res.end();
    }
    res.writeHead(start > 0 ? 206 : 200, { 'Content-Length': FIXTURE.length - start });
    if (mode === 'drop') {
      res.write(FIXTURE.subarray(start, start + 50_000));
      return setTimeout(() => res.destroy(), 50);
    }
    res.end(FIXTURE.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  ranges = [];
  mode = 'normal';
  tmp?.cleanup();
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

describe('downloadFile against a local HTTP server', () => {
  it('downloads, follows a redirect, reports progress and verifies sha256', async () => {
    const dest = path.join(tmp.dir, 'w.pth');
    const seen: number[] = [];
    const r = await downloadFile(`${base}/moved`, dest, { sha256: SHA, onProgress: (p) => seen.push(p.received) });
    expect(fs.readFileSync(dest).equals(FIXTURE)).toBe(true);
    expect(r).toEqual({ bytes: FIXTURE.length, sha256: SHA, resumedFrom: 0 });
    expect(seen[seen.length - 1]).toBe(FIXTURE.length);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
  });

  it('resumes a partial download with a Range request', async () => {
    const dest = path.join(tmp.dir, 'w.pth');
    fs.writeFileSync(`${dest}.part`, FIXTURE.subarray(0, 100_000));
    const r = await downloadFile(`${base}/file.pth`, dest, { sha256Prefix: SHA.slice(0, 8) });
    expect(ranges).toEqual(['bytes=100000-']);
    expect(r.resumedFrom).toBe(100_000);
    expect(fs.readFileSync(dest).equals(FIXTURE)).toBe(true);
  });

  it('starts over when the server ignores Range, and treats 416 as already complete', async () => {
    const dest = path.join(tmp.dir, 'w.pth');
    fs.writeFileSync(`${dest}.part`, Buffer.from('garbage'));
    mode = 'ignore-range';
    await downloadFile(`${base}/file.pth`, dest, { sha256: SHA });
    expect(fs.readFileSync(dest).equals(FIXTURE)).toBe(true);
    mode = 'normal';
    const again = path.join(tmp.dir, 'again.pth');
    fs.writeFileSync(`${again}.part`, FIXTURE);
    await downloadFile(`${base}/file.pth`, again, { sha256: SHA });
    expect(fs.readFileSync(again).equals(FIXTURE)).toBe(true);
  });

  it('a dropped connection leaves a resumable part; the next run completes it', async () => {
    const dest = path.join(tmp.dir, 'w.pth');
    mode = 'drop';
    await expect(downloadFile(`${base}/file.pth`, dest, { sha256: SHA })).rejects.toThrow(/run again to resume/);
    expect(fs.existsSync(dest)).toBe(false);
    const partial = fs.statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    mode = 'normal';
    const r = await downloadFile(`${base}/file.pth`, dest, { sha256: SHA });
    expect(r.resumedFrom).toBe(partial);
    expect(fs.readFileSync(dest).equals(FIXTURE)).toBe(true);
  });

  it('a checksum mismatch is an error and leaves neither the file nor the part', async () => {
    const dest = path.join(tmp.dir, 'w.pth');
    await expect(downloadFile(`${base}/file.pth`, dest, { sha256: '0'.repeat(64) })).rejects.toThrow(/sha256 .* does not match/);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
  });

  it('`npm run weights -- download --url` does the same from the command line', async () => {
    const dest = path.join(tmp.dir, 'cli.pth');
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'utils/weights.ts'), 'download', '--url', `${base}/file.pth`, '--out', dest, '--sha256', SHA, '--json'], { cwd: ROOT });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ file: dest, bytes: FIXTURE.length, sha256: SHA });
  });
});
