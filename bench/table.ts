/**
 * The README's performance table in one run: each row times the same model/mode/threads on native
 * (wasm + oneDNN kernels), plain wasm, Debian's PyTorch 1.13 (torch) and the project venv's pip PyTorch (torch2,
 * when installed), one after the other, each tfjs side in its own process; PyTorch is the better of NCHW and
 * channels-last.
 *
 *   npm run bench -- table --json [--rows squeezenet1_1:train:224:1,resnet34:train:224:1] [--batch 16] [--steps 3]
 *                                 [--sides native,wasm,torch,torch2] [--rounds 3]
 *
 * Prints {rows: [{model, mode, size, threads, batch, nativeImgPerSec, wasmImgPerSec, torchImgPerSec, torch2ImgPerSec,
 * ratios, nativeGflopsPerSec, nativePeakFraction}], load} and, without --json, a markdown table. The machine's 1-minute load
 * average before and after each row is reported: other processes skew all three sides. With --rounds N
 * the sides alternate N times; img/s are medians and each ratio is the median of the per-round ratios.
 * The CPU-time ratio (torch CPU ms / tfjs CPU ms per step) is the steadier figure on a loaded machine.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FlagSpecs } from '../lib/cli';
import { childEnv } from '../lib/env';
import { flag, numberFlag } from './flags';
import { torchBench, VENV_PYTHON } from './support/harness';

type Side = 'native' | 'wasm' | 'torch' | 'torch2';

/** This benchmark's flags (bench/index.ts parses them: --help lists them, a mistyped one is an error). */
export const flags: FlagSpecs = {
  rows: { type: 'string', placeholder: '<model:mode:px:threads,...>', description: 'rows (default: the README table)' },
  batch: { type: 'integer', default: 16, description: 'batch size' },
  steps: { type: 'integer', default: 3, description: 'timed steps per side' },
  sides: { type: 'string', default: 'native,wasm,torch,torch2', placeholder: '<native,wasm,torch,torch2>', description: 'which sides to time, in this order' },
  rounds: { type: 'integer', default: 1, description: 'alternate the sides this many times (medians)' },
};

const DEFAULT_ROWS = 'squeezenet1_1:train:224:1,squeezenet1_1:train:224:2,squeezenet1_1:infer:224:1,squeezenet1_1:infer:224:2,resnet34:train:224:1,resnet34:train:224:2,resnet34:infer:224:1,resnet34:infer:224:2';

/** One tfjs bench run in a child process (its own backend and thread pools); null with the reason on failure. */
function tfjsSide(backend: 'native' | 'wasm', mode: string, model: string, batch: number, size: number, threads: number, steps: number): { imgPerSec: number; cpuMsPerStep: number; gflopsPerSec: number; peakFraction?: number } | { error: string } {
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [path.join(__dirname, 'index.ts'), mode, '--model', model, '--batch', String(batch), '--size', String(size), '--steps', String(steps), '--backend', backend, '--json'],
    { encoding: 'utf8', env: childEnv({ DEVISE_BENCH_NO_TORCH: '1', DEVISE_THREADS: String(threads), DEVISE_WASM_THREADS: backend === 'wasm' ? String(threads) : '' }) });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ').slice(0, 300) };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { imgPerSec: number; cpuMsPerStep: number; gflopsPerSec: number; peakFraction?: number };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const median = (xs: number[]): number | null => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : null);

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const batch = numberFlag(argv, 'batch', 16);
  const steps = numberFlag(argv, 'steps', 3);
  const rounds = numberFlag(argv, 'rounds', 1);
  const sides = (flag(argv, 'sides') ?? 'native,wasm,torch,torch2').split(',') as Side[];
  const rows = [];
  for (const spec of (flag(argv, 'rows') ?? DEFAULT_ROWS).split(',')) {
    const [model, mode, sizeText, threadsText] = spec.split(':') as [string, 'train' | 'infer', string, string];
    const size = Number(sizeText);
    const threads = Number(threadsText);
    const load = [os.loadavg()[0]!];
    const got: Record<Side, number[]> = { native: [], wasm: [], torch: [], torch2: [] };
    const ratios: Record<'native' | 'wasm', number[]> = { native: [], wasm: [] };
    const ratios2: number[] = []; // native / torch2
    const gflops: number[] = [];
    const peakFractions: number[] = [];
    const versions: Record<string, string> = {};
    const cpuRatios: Record<'native' | 'wasm', number[]> = { native: [], wasm: [] };
    const errors: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const ips: Partial<Record<Side, number>> = {};
      const cpuMs: Partial<Record<Side, number>> = {};
      for (const side of round % 2 ? [...sides].reverse() : sides) { // alternate the order against load drift
        if (side === 'torch' || side === 'torch2') {
          const t = side === 'torch' ? torchBench(mode, model, batch, size, threads, steps) : torchBench(mode, model, batch, size, threads, steps, VENV_PYTHON);
          if (t) [ips[side], cpuMs[side], versions[side]] = [t.imgPerSec, t.cpuMs, `${t.version} ${t.layout}`];
          continue;
        }
        const r = tfjsSide(side, mode, model, batch, size, threads, steps);
        if ('imgPerSec' in r) [ips[side], cpuMs[side]] = [r.imgPerSec, r.cpuMsPerStep];
        else errors.push(`${side}: ${r.error}`);
        if ('imgPerSec' in r && side === 'native') {
          gflops.push(r.gflopsPerSec);
          if (r.peakFraction !== undefined) peakFractions.push(r.peakFraction);
        }
      }
      for (const side of sides) if (ips[side] !== undefined) got[side].push(ips[side]!);
      for (const side of ['native', 'wasm'] as const) {
        if (ips[side] !== undefined && ips.torch) ratios[side].push(ips[side]! / ips.torch);
        if (cpuMs[side] && cpuMs.torch) cpuRatios[side].push(cpuMs.torch / cpuMs[side]!);
      }
      if (ips.native !== undefined && ips.torch2) ratios2.push(ips.native / ips.torch2);
    }
    load.push(os.loadavg()[0]!);
    const med = (xs: number[]): number | null => { const m = median(xs); return m === null ? null : round2(m); };
    rows.push({
      model, mode, size, threads, batch, rounds,
      nativeImgPerSec: med(got.native), wasmImgPerSec: med(got.wasm), torchImgPerSec: med(got.torch), torch2ImgPerSec: med(got.torch2),
      nativeVsTorch: med(ratios.native), wasmVsTorch: med(ratios.wasm), nativeVsTorch2: med(ratios2),
      nativeGflopsPerSec: med(gflops), nativePeakFraction: median(peakFractions), torchVersions: versions,
      nativeCpuVsTorch: med(cpuRatios.native), wasmCpuVsTorch: med(cpuRatios.wasm),
      nativeRatios: ratios.native.map(round2), ...(errors.length && { errors }),
      load: load.map(round2),
    });
  }
  if (!argv.includes('--json')) {
    console.log('| model | mode | px | threads | native img/s | GFLOP/s | of peak | wasm img/s | PyTorch 1.13 | PyTorch 2.x | vs 1.13 | vs 2.x | wasm/torch | native/torch (CPU time) | load |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.model} | ${r.mode} | ${r.size} | ${r.threads} | ${r.nativeImgPerSec} | ${r.nativeGflopsPerSec} | ${r.nativePeakFraction} | ${r.wasmImgPerSec} | ${r.torchImgPerSec} | ${r.torch2ImgPerSec} | ${r.nativeVsTorch} | ${r.nativeVsTorch2} | ${r.wasmVsTorch} | ${r.nativeCpuVsTorch} | ${r.load.join('→')} |`);
  }
  return { bench: 'table', batch, steps, cores: os.cpus().length, rows };
}
