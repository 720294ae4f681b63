/**
 * The inference-path decision: onnxruntime-node on torchvision's own ONNX export of the same network,
 * against this project's inference (bench/infer.ts: native kernels and PyTorch) in the same run, same
 * shapes, same thread count (DEVISE_THREADS).
 *
 *   ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix /tmp/ort onnxruntime-node@1.30   # not a project dependency
 *   npm run bench -- onnx --ort /tmp/ort --model squeezenet1_1 --json
 *
 * Prints the infer fields plus ortImgPerSec and ortVsTfjs (onnxruntime img/s ÷ this project's img/s).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FlagSpecs } from '../lib/cli';
import { flag, numberFlag } from './flags';
import { run as infer } from './infer';
import { timeSteps, TORCH_PYTHON } from './support/harness';

/** This benchmark's flags. */
export const flags: FlagSpecs = {
  ort: { type: 'string', placeholder: '<dir>', description: 'folder where onnxruntime-node is installed (npm install --prefix <dir>)' },
  model: { type: 'string', default: 'squeezenet1_1', choices: ['squeezenet1_1', 'resnet34'], description: 'architecture' },
  batch: { type: 'integer', default: 16, description: 'batch size' },
  size: { type: 'integer', default: 224, placeholder: '<px>', description: 'input size' },
  steps: { type: 'integer', default: 5, description: 'timed steps (after warm-up)' },
};

interface Ort {
  InferenceSession: { create(file: string, opts: object): Promise<{ run(feeds: object): Promise<unknown> }> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => object;
}

function loadOrt(dir: string | undefined): Ort {
  const from = dir ? path.join(path.resolve(dir), 'package.json') : path.join(__dirname, '..', 'package.json');
  try {
    return createRequire(from)('onnxruntime-node') as Ort;
  } catch {
    throw new Error(`onnxruntime-node not found${dir ? ` under ${dir}` : ''}: install it outside the project with ` +
      '`ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix /tmp/ort onnxruntime-node@1.30`, then pass --ort /tmp/ort');
  }
}

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const ort = loadOrt(flag(argv, 'ort'));
  const arch = flag(argv, 'model') ?? 'squeezenet1_1';
  const [batch, size, steps] = [numberFlag(argv, 'batch', 16), numberFlag(argv, 'size', 224), numberFlag(argv, 'steps', 5)];
  const tfjs = await infer(['--model', arch, '--batch', String(batch), '--size', String(size), '--steps', String(steps)]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-onnx-'));
  try {
    const file = path.join(dir, `${arch}.onnx`);
    const script = `import torch, torchvision\nm = getattr(torchvision.models, '${arch}')(num_classes=1000).eval()\n` +
      `torch.onnx.export(m, torch.rand(${batch}, 3, ${size}, ${size}), '${file}', input_names=['x'], output_names=['y'], opset_version=13)`;
    const r = spawnSync(TORCH_PYTHON, ['-c', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`torch.onnx.export failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: tfjs.threads as number, interOpNumThreads: 1, executionProviders: ['cpu'] });
    const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * size * size }, () => Math.random()), [batch, 3, size, size]);
    const ms = await timeSteps(async () => { await session.run({ x }); }, 2, steps);
    const ortImgPerSec = Math.round((batch / ms) * 1000 * 10) / 10;
    return { ...tfjs, bench: 'onnx', ortImgPerSec, ortVsTfjs: Math.round((ortImgPerSec / (tfjs.imgPerSec as number)) * 100) / 100 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
