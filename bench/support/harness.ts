/**
 * Shared parts of bench/train.ts and bench/infer.ts: model choice, timing, per-kernel profile, and the
 * PyTorch side (bench/torch_bench.py on the same shapes/threads, best of NCHW and channels-last), run with Debian's
 * /usr/bin/python3 (torch 1.13) and, when it has torch, the project venv's .venv/bin/python (pip's current torch).
 *
 *   const model = await benchModel('squeezenet1_1', 224);
 *   --backend native|wasm   (native: wasm + the oneDNN kernels; wasm: the addon hidden)
 *   const ms = await timeSteps(step, 1, 5);             // median step time
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS, type BackendName, initBackend, largestBatch, nativeStatus, tf } from '../../lib/backend/index';
import { loadNative } from '../../lib/backend/native-kernels/addon';
import { childEnv, env, setEnv } from '../../lib/env';
import { flag, hasFlag, numberFlag, rssMB } from '../flags';
import { ARCHS, createModel, type Arch } from '../../lib/models/index';
import { measurePeak } from '../peak';
import { forwardFlops, TRAIN_FLOPS_FACTOR } from './flops';

export const TORCH_PYTHON = env.torchPython ?? '/usr/bin/python3';

/** The project's model (lib/models) with torchvision's own 1000-class top: the PyTorch side's architecture. */
export async function benchModel(arch: string, size: number): Promise<tf.LayersModel> {
  if (!(arch in ARCHS)) throw new Error(`--model '${arch}' is not known; use one of ${Object.keys(ARCHS).join(', ')}`);
  return (await createModel(arch as Arch, { head: 'imagenet', classes: 1000, inputSize: size, seed: 1 })).model;
}

/** Runs `warmup` untimed then `steps` timed calls; returns the median step time in ms. */
export async function timeSteps(step: () => Promise<void>, warmup: number, steps: number): Promise<number> {
  return (await timeStepsCpu(step, warmup, steps)).wallMs;
}

/**
 * Like timeSteps, plus the median process CPU time per step (all threads). On a machine other jobs
 * load, CPU time is the steadier figure: a 1-thread run's CPU ms is its wall ms on a quiet machine.
 */
export async function timeStepsCpu(step: () => Promise<void>, warmup: number, steps: number): Promise<{ wallMs: number; cpuMs: number }> {
  for (let i = 0; i < warmup; i++) await step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await step();
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wallMs: med(wall), cpuMs: med(cpu) };
}

/** Kernel time per kernel name (ms) for one call of `step`, largest first. */
export async function kernelProfile(step: () => Promise<void>): Promise<Record<string, number>> {
  const info = await tf.profile(async () => { await step(); });
  const byName = new Map<string, number>();
  for (const k of info.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const sorted = [...byName].sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(sorted.map(([name, ms]) => [name, Math.round(ms)]));
}

/** One PyTorch's time for the same model and shapes: the better of NCHW and channels-last. */
export interface TorchResult {
  imgPerSec: number;
  stepMs: number;
  cpuMs: number;
  layout: 'nchw' | 'channels_last';
  layouts: Record<string, number>;
  version: string;
}

/** The project venv's Python (`npm run deps`), where `pip install torch torchvision` puts a current PyTorch beside Debian's 1.13. */
export const VENV_PYTHON = path.join(__dirname, '..', '..', '.venv', 'bin', 'python');

/** Times the same model/shapes in PyTorch under `python`; null when it has no torch (or the python is absent). */
export function torchBench(mode: 'train' | 'infer', arch: string, batch: number, size: number, threads: number, steps: number, python = TORCH_PYTHON): TorchResult | null {
  if (env.benchNoTorch || !fs.existsSync(python)) return null;
  const script = path.join(__dirname, '..', 'torch_bench.py');
  const r = spawnSync(python, [script, mode, arch, String(batch), String(size), String(threads), String(steps)],
    { encoding: 'utf8', env: childEnv({ OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) }) });
  if (r.status !== 0) {
    if (/No module named 'torch/.test(r.stderr)) return null;
    throw new Error(`torch_bench.py under ${python} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

/**
 * `--backend native|wasm|cpu|tensorflow`: native is wasm with the oneDNN kernels required (an error when
 * they are not built), wasm is wasm with them hidden; no flag takes what initBackend picks.
 */
export function backendFlag(argv: string[]): { backend?: BackendName } {
  const wanted = flag(argv, 'backend');
  if (wanted === undefined) return {};
  if (wanted === 'native' || wanted === 'wasm') {
    setEnv({ DEVISE_NATIVE: wanted === 'native' ? '1' : '0' });
    return { backend: 'wasm' };
  }
  if (!(BACKENDS as readonly string[]).includes(wanted)) throw new Error(`--backend '${wanted}' is not known; use native, ${BACKENDS.join(', ')}`);
  return { backend: wanted as BackendName };
}

/**
 * Peak tensor bytes of a step at batch 1 and 2 (second step of each, so optimizer slots exist), and
 * from them whether `batch` fits in the wasm heap: past 4 GiB the step would die in the wasm module.
 */
async function heapCheck(model: tf.LayersModel, x: tf.Tensor4D, setup: (model: tf.LayersModel, x: tf.Tensor4D) => StepSetup, batch: number): Promise<ReturnType<typeof largestBatch>> {
  const peak = { 1: 0, 2: 0 };
  for (const b of [1, 2] as const) {
    const xb = tf.slice(x, 0, b) as tf.Tensor4D;
    const s = setup(model, xb);
    try {
      await s.step();
      peak[b] = (await tf.profile(() => s.step())).peakBytes;
    } finally {
      s.dispose();
      xb.dispose();
    }
  }
  return largestBatch(peak, batch);
}

/** A benchmark step over one model and one random batch, with what to free afterwards. */
export interface StepSetup {
  step: () => Promise<void>;
  dispose: () => void;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Size of the wasm backend's memory (its high-water mark: wasm memory only grows). */
const wasmMemoryBytes = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;

/**
 * The shared body of `bench train` and `bench infer`: reads --model/--batch/--size/--steps/--profile, times
 * `setup(model, x).step` after one warm-up (which also creates optimizer slots, so the tensor count is
 * steady-state), runs PyTorch on the same shapes and threads, and returns the JSON fields.
 */
export async function modelBench(mode: 'train' | 'infer', argv: string[], setup: (model: tf.LayersModel, x: tf.Tensor4D) => StepSetup): Promise<Record<string, unknown>> {
  const info = await initBackend(backendFlag(argv));
  const backend = info.native?.kernels.length ? 'native' : info.backend;
  const arch = flag(argv, 'model') ?? 'squeezenet1_1';
  const batch = numberFlag(argv, 'batch', 16);
  const size = numberFlag(argv, 'size', 224);
  const steps = numberFlag(argv, 'steps', 5);
  const model = await benchModel(arch, size);
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const heap = info.backend === 'wasm' && batch > 2 ? await heapCheck(model, x, setup, batch) : undefined;
  if (heap && !heap.fits) {
    x.dispose();
    model.dispose();
    throw new Error(`${arch} ${mode} at batch ${batch}, ${size} px needs ~${(heap.neededBytes / 2 ** 30).toFixed(1)} GiB of tensors, more than the wasm heap's ` +
      `4 GiB limit (wasm32) allows: the largest batch that fits is ${heap.largest} (--batch ${heap.largest})`);
  }
  const { step, dispose } = setup(model, x);
  try {
    await step();
    const before = tf.memory().numTensors;
    const { wallMs: stepMs, cpuMs } = await timeStepsCpu(step, 1, steps);
    const numTensorsDelta = tf.memory().numTensors - before;
    const profile = hasFlag(argv, 'profile') ? await kernelProfile(step) : undefined;
    const torch = torchBench(mode, arch, batch, size, info.threads, steps);
    const venvTorch = torchBench(mode, arch, batch, size, info.threads, steps, VENV_PYTHON);
    const imgPerSec = (batch / stepMs) * 1000;
    // Achieved rate from the model's own layer shapes, against the measured peak at the same thread count.
    const gflopsPerSec = (forwardFlops(model) * batch * (mode === 'train' ? TRAIN_FLOPS_FACTOR : 1)) / (stepMs * 1e6);
    const peak = loadNative().addon ? measurePeak(info.threads, 0.5).gflops : undefined;
    return {
      bench: mode, backend, threads: info.threads, model: arch, batch, size,
      imgPerSec: round2(imgPerSec), stepMs: Math.round(stepMs), gflopsPerSec: round2(gflopsPerSec),
      ...(peak && { peakGflops: round2(peak), peakFraction: Math.round((gflopsPerSec / peak) * 1000) / 1000 }), cpuMsPerStep: Math.round(cpuMs), rssMB: rssMB(), numTensorsDelta,
      ...(heap && { heapMB: Math.round(heap.neededBytes / 2 ** 20), largestBatch: heap.largest }),
      // The wasm memory actually grown to (it never shrinks): the real footprint, where heapMB is tfjs's byte count.
      ...(info.backend === 'wasm' && { wasmMemoryMB: Math.round(wasmMemoryBytes() / 2 ** 20) }),
      ...(torch && { torchImgPerSec: round2(torch.imgPerSec), ratio: round2(imgPerSec / torch.imgPerSec), torchCpuMsPerStep: Math.round(torch.cpuMs), cpuRatio: round2(torch.cpuMs / cpuMs), torchVersion: torch.version, torchLayout: torch.layout }),
      // The PyTorch a user would install today (pip, in the project venv), the better of its two layouts.
      ...(venvTorch && { venvTorch: { version: venvTorch.version, imgPerSec: round2(venvTorch.imgPerSec), layout: venvTorch.layout, layouts: venvTorch.layouts, ratio: round2(imgPerSec / venvTorch.imgPerSec), cpuMsPerStep: Math.round(venvTorch.cpuMs), cpuRatio: round2(venvTorch.cpuMs / cpuMs) } }),
      ...(info.native?.kernels.length && { native: (({ dnnl, isa, format, blocked, winograd, winogradPrimitives, delegatedBy }) => ({ dnnl, isa, format, blocked, winograd, winogradPrimitives, delegated: delegatedBy }))(nativeStatus()) }),
      ...(profile && { profile }),
    };
  } finally {
    dispose();
    x.dispose();
    model.dispose();
  }
}
