/**
 * The CPU's attainable fp32 rate (the roofline every train/infer GFLOP/s is read against): oneDNN sgemm on square
 * matrices and oneDNN's convolution on a ResNet 3×3 layer, through the native addon, at 1 and 2 threads (or
 * `--threads`); per thread count the better of the two, best of repeated calls for `--seconds`.
 *
 *   npm run bench -- peak --json                 # {"threads":{"1":…,"2":…},"isa":"avx512_core",…}
 *   npm run bench -- peak --threads 1,2,4 --seconds 2 --json
 */
import type { FlagSpecs } from '../lib/cli';
import { UserError } from '../lib/cli';
import { loadNative, type NativeAddon } from '../lib/backend/native-kernels/addon';
import { flag, numberFlag } from './flags';

export const flags: FlagSpecs = {
  threads: { type: 'string', default: '1,2', placeholder: '<n,...>', description: 'thread counts to measure' },
  seconds: { type: 'number', default: 1, description: 'seconds per kernel and thread count (best call kept)' },
  n: { type: 'integer', default: 1024, description: 'sgemm matrix size (n×n by n×n)' },
};

/** The addon with its peak measurement (native/src/peak.cc), or a UserError saying how to build it. */
function addon(): NativeAddon & { peak(seconds: number, n: number): { sgemm: number; conv: number } } {
  const { addon: a, why } = loadNative();
  if (!a) throw new UserError(`bench peak needs the native addon: ${why}`);
  return a as NativeAddon & { peak(seconds: number, n: number): { sgemm: number; conv: number } };
}

/** Best fp32 GFLOP/s of oneDNN sgemm and convolution at `threads` (the addon's pool is restored afterwards). */
export function measurePeak(threads: number, seconds = 1, n = 1024): { gflops: number; sgemm: number; conv: number } {
  const a = addon();
  const before = a.info().threads;
  a.setThreads(threads);
  try {
    const r = a.peak(seconds, n);
    return { gflops: Math.max(r.sgemm, r.conv), sgemm: r.sgemm, conv: r.conv };
  } finally {
    a.setThreads(before);
  }
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const counts = (flag(argv, 'threads') ?? '1,2').split(',').map((s) => Number(s.trim()));
  if (counts.some((t) => !Number.isInteger(t) || t < 1)) throw new UserError(`--threads expects positive integers like 1,2, got '${flag(argv, 'threads')}'`);
  const seconds = numberFlag(argv, 'seconds', 1);
  const n = numberFlag(argv, 'n', 1024);
  const threads: Record<number, number> = {};
  const sgemm: Record<number, number> = {};
  const conv: Record<number, number> = {};
  for (const t of counts) {
    const r = measurePeak(t, seconds, n);
    threads[t] = round1(r.gflops);
    sgemm[t] = round1(r.sgemm);
    conv[t] = round1(r.conv);
  }
  const info = addon().info();
  return { bench: 'peak', threads, isa: info.isa, dnnl: info.dnnl, sgemm, conv, seconds, n };
}
