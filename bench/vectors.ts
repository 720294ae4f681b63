/**
 * `.vec` reader benchmark: writes a synthetic fastText-style file (default ≈1.1 GB) to a temp dir, reads it
 * keeping `--keep` words, reports MB/s and peak RSS, then deletes the file.
 *
 *   npm run bench -- vectors --json                          # 400k lines × 300-d ≈ 1.1 GB
 *   npm run bench -- vectors --lines 1000000 --keep 1000 --json
 *   npm run bench -- vectors --cache --json                  # also: build the binary cache, reopen it, look words up
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildVecCache, openVecCache, readVec } from '../lib/vectors/vec';
import { hasFlag, numberFlag, rssMB } from './flags';

/** Writes `lines` rows of `dim` pseudo-random 6-decimal values (fastText layout) in 8 MB chunks; returns bytes. */
function writeSyntheticVec(file: string, lines: number, dim: number): number {
  // 64 distinct row bodies reused round-robin keep generation I/O-bound; tokens stay unique.
  let x = 12345;
  const bodies = Array.from({ length: 64 }, () => {
    const vals: string[] = [];
    for (let j = 0; j < dim; j++) vals.push((((x = (x * 48271) % 2147483647) / 2147483647) - 0.5).toFixed(6));
    return ` ${vals.join(' ')} \n`;
  });
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  try {
    const head = `${lines} ${dim}\n`;
    fs.writeSync(fd, head);
    bytes += head.length;
    let parts: string[] = [];
    let size = 0;
    for (let i = 0; i < lines; i++) {
      const row = `w${i}${bodies[i % 64]}`;
      parts.push(row);
      size += row.length;
      if (size > 8 << 20 || i === lines - 1) {
        bytes += fs.writeSync(fd, parts.join(''));
        parts = [];
        size = 0;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const lines = numberFlag(argv, 'lines', 400_000);
  const dim = numberFlag(argv, 'dim', 300);
  const keepN = numberFlag(argv, 'keep', 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-bench-vec-'));
  try {
    const file = path.join(dir, 'synthetic.vec');
    let t = process.hrtime.bigint();
    const bytes = writeSyntheticVec(file, lines, dim);
    const writeSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    // Spread the kept words across the file, so the reader cannot stop early.
    const keep = Array.from({ length: keepN }, (_, i) => `w${Math.floor((i * lines) / keepN)}`);
    t = process.hrtime.bigint();
    const r = await readVec(file, { keep });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const fileMB = bytes / 2 ** 20;
    const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024); // before the cache pass, which holds the vocabulary
    const cache: Record<string, number> = {};
    if (hasFlag(argv, 'cache')) {
      const cacheFile = path.join(dir, 'synthetic.dvv');
      t = process.hrtime.bigint();
      await buildVecCache(file, cacheFile);
      cache.cacheBuildSeconds = +(Number(process.hrtime.bigint() - t) / 1e9).toFixed(2);
      t = process.hrtime.bigint();
      const wv = openVecCache(cacheFile);
      cache.cacheOpenMs = Math.round(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      for (const w of keep) wv.get(w);
      cache.lookupUs = +(Number(process.hrtime.bigint() - t) / 1e3 / keep.length).toFixed(1);
      wv.close();
    }
    return {
      lines, dim, kept: r.tokens.length, fileMB: Math.round(fileMB), writeSeconds: +writeSeconds.toFixed(2), readSeconds: +seconds.toFixed(2),
      mbPerSec: Math.round(fileMB / seconds), peakRssMB, rssMB: rssMB(), ...cache,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
