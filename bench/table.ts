/**
 * The README's performance table in one run: each row times the same model/mode/threads on native
 * (wasm + oneDNN kernels), plain wasm and PyTorch, one after the other, each tfjs side in its own process.
 *
 *   npm run bench -- table --json [--rows squeezenet1_1:train:224:1,resnet34:train:224:1] [--batch 16] [--steps 3]
 *
 * Prints {rows: [{model, mode, size, threads, batch, nativeImgPerSec, wasmImgPerSec, torchImgPerSec,
 * native/wasm/torch ratios}], load} and, without --json, a markdown table. The machine's 1-minute load
 * average before and after each row is reported: other processes skew all three sides.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { flag, numberFlag } from './flags';
import { torchBench } from './support/harness';

const DEFAULT_ROWS = 'squeezenet1_1:train:224:1,squeezenet1_1:train:224:2,squeezenet1_1:infer:224:1,squeezenet1_1:infer:224:2,resnet34:train:224:1,resnet34:infer:224:1';

/** One tfjs bench run in a child process (its own backend and thread pools); null with the reason on failure. */
function tfjsSide(backend: 'native' | 'wasm', mode: string, model: string, batch: number, size: number, threads: number, steps: number): { imgPerSec: number } | { error: string } {
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [path.join(__dirname, 'index.ts'), mode, '--model', model, '--batch', String(batch), '--size', String(size), '--steps', String(steps), '--backend', backend, '--json'],
    { encoding: 'utf8', env: { ...process.env, DEVISE_BENCH_NO_TORCH: '1', DEVISE_THREADS: String(threads), DEVISE_WASM_THREADS: backend === 'wasm' ? String(threads) : '' } });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ').slice(0, 300) };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { imgPerSec: number };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const batch = numberFlag(argv, 'batch', 16);
  const steps = numberFlag(argv, 'steps', 3);
  const rows = [];
  for (const spec of (flag(argv, 'rows') ?? DEFAULT_ROWS).split(',')) {
    const [model, mode, sizeText, threadsText] = spec.split(':') as [string, 'train' | 'infer', string, string];
    const size = Number(sizeText);
    const threads = Number(threadsText);
    const load = [os.loadavg()[0]!];
    const native = tfjsSide('native', mode, model, batch, size, threads, steps);
    const wasm = tfjsSide('wasm', mode, model, batch, size, threads, steps);
    const torch = torchBench(mode, model, batch, size, threads, steps);
    load.push(os.loadavg()[0]!);
    const ips = (s: { imgPerSec: number } | { error: string }): number | string => ('imgPerSec' in s ? s.imgPerSec : s.error);
    const n = ips(native);
    const w = ips(wasm);
    const t = torch?.imgPerSec;
    rows.push({
      model, mode, size, threads, batch, nativeImgPerSec: n, wasmImgPerSec: w, torchImgPerSec: t === undefined ? null : round2(t),
      nativeVsTorch: typeof n === 'number' && t ? round2(n / t) : null,
      wasmVsTorch: typeof w === 'number' && t ? round2(w / t) : null,
      load: load.map(round2),
    });
  }
  if (!argv.includes('--json')) {
    console.log('| model | mode | px | threads | native img/s | wasm img/s | torch img/s | native/torch | wasm/torch | load |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.model} | ${r.mode} | ${r.size} | ${r.threads} | ${r.nativeImgPerSec} | ${r.wasmImgPerSec} | ${r.torchImgPerSec} | ${r.nativeVsTorch} | ${r.wasmVsTorch} | ${r.load.join('→')} |`);
  }
  return { bench: 'table', batch, steps, cores: os.cpus().length, rows };
}
