/**
 * The roofline fields: the FLOP count from layer shapes equals torch's (multiply-adds of every Conv2d/Linear
 * counted by forward hooks on torchvision's own squeezenet1_1 and resnet34), bench/torch_bench.py's copies of
 * those architectures equal torchvision's, `bench -- peak --json` has the
 * documented shape, and a tiny `bench -- infer` reports an achieved GFLOP/s consistent with its img/s and ≤ peak × 1.05.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../lib/backend/index';
import { loadNative } from '../../lib/backend/native-kernels/addon';
import { forwardFlops } from '../../bench/support/flops';
import { benchModel } from '../../bench/support/harness';
import { ROOT } from '../helpers';

const PYTHON = '/usr/bin/python3';
const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;

// torch's count: a forward hook on every Conv2d and Linear adds output elements × (in/groups × kernel taps).
const TORCH_FLOPS = `
import json, sys, torch, torchvision
size = int(sys.argv[1]); out = {}
for arch in ["squeezenet1_1", "resnet34"]:
    m = getattr(torchvision.models, arch)().eval(); macs = [0]
    def hook(mod, inp, o):
        taps = mod.in_features if isinstance(mod, torch.nn.Linear) else mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        macs[0] += o.numel() * taps
    for mod in m.modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)): mod.register_forward_hook(hook)
    with torch.no_grad(): m(torch.zeros(1, 3, size, size))
    out[arch] = 2 * macs[0]
print(json.dumps(out))
`;

const bench = (args: string[]) => {
  // No PyTorch side: the fields under test are tfjs's; torch timing would only slow the test.
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/index.ts'), ...args, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, DEVISE_BENCH_NO_TORCH: '1' } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
};

describe.skipIf(!hasTorch)('FLOPs from layer shapes', () => {
  it('equal torch forward hooks on torchvision squeezenet1_1 and resnet34 (96 px)', async () => {
    const size = 96;
    const r = spawnSync(PYTHON, ['-c', TORCH_FLOPS, String(size)], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const torch = JSON.parse(r.stdout) as Record<string, number>;
    await initBackend();
    for (const arch of ['squeezenet1_1', 'resnet34']) {
      const model = await benchModel(arch, size);
      const ours = forwardFlops(model);
      model.dispose();
      console.log(`[flops] ${arch} at ${size} px: ours ${ours}, torch ${torch[arch]}`);
      expect(ours).toBe(torch[arch]);
    }
  }, 120_000);
});

// bench/torch_bench.py's own copies of the two architectures (used where torchvision will not import): same
// parameter shapes in the same order and the same outputs as torchvision's, given torchvision's weights.
const REPLICA = `
import sys, torch, torchvision
sys.path.insert(0, sys.argv[1])
import torch_bench
for arch in ["squeezenet1_1", "resnet34"]:
    ref, ours = getattr(torchvision.models, arch)(num_classes=1000).eval(), getattr(torch_bench, arch)(1000).eval()
    a, b = ref.state_dict(), ours.state_dict()
    assert [v.shape for v in a.values()] == [v.shape for v in b.values()], arch
    ours.load_state_dict(dict(zip(b.keys(), a.values())))
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        print(arch, (ref(x) - ours(x)).abs().max().item())
`;

describe.skipIf(!hasTorch)('bench/torch_bench.py architectures', () => {
  it('equal torchvision squeezenet1_1 and resnet34 (shapes, outputs)', () => {
    const r = spawnSync(PYTHON, ['-c', REPLICA, path.join(ROOT, 'bench')], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    console.log(`[torch_bench] max |Δ| vs torchvision: ${r.stdout.trim().replace(/\n/g, '; ')}`);
    for (const line of r.stdout.trim().split('\n')) expect(Number(line.split(' ')[1])).toBeLessThan(1e-5);
  }, 120_000);
});

describe.skipIf(!loadNative().addon)('bench peak and achieved GFLOP/s', () => {
  it('peak --json is {threads: {1, 2}, isa}; infer reports gflopsPerSec ≤ peak × 1.05, consistent with img/s', async () => {
    const peak = bench(['peak', '--seconds', '0.3']) as { threads: Record<string, number>; isa: string };
    console.log(`[peak] ${JSON.stringify(peak)}`);
    expect(Object.keys(peak.threads).sort()).toEqual(['1', '2']);
    for (const g of Object.values(peak.threads)) expect(g).toBeGreaterThan(1);
    expect(peak.isa.length).toBeGreaterThan(0);

    const j = bench(['infer', '--size', '64', '--batch', '2', '--steps', '3']) as { imgPerSec: number; gflopsPerSec: number; peakGflops: number; peakFraction: number; threads: number };
    console.log(`[peak] infer: ${JSON.stringify({ imgPerSec: j.imgPerSec, gflopsPerSec: j.gflopsPerSec, peakGflops: j.peakGflops, peakFraction: j.peakFraction, threads: j.threads })}`);
    expect(j.gflopsPerSec).toBeGreaterThan(0);
    expect(j.gflopsPerSec).toBeLessThanOrEqual(j.peakGflops * 1.05);
    expect(j.peakFraction).toBeCloseTo(j.gflopsPerSec / j.peakGflops, 2);
    await initBackend();
    const model = await benchModel('squeezenet1_1', 64);
    const perImage = forwardFlops(model);
    model.dispose();
    // img/s × FLOPs per image (rounding of both fields aside).
    expect(Math.abs(j.gflopsPerSec - (j.imgPerSec * perImage) / 1e9)).toBeLessThan(0.02 * j.gflopsPerSec + 0.01);
  }, 300_000);
});

describe('training a BatchNorm backbone without the native kernels', () => {
  it('bench train --backend wasm (the addon hidden) trains ResNet34: the composed batch norm, not the unregistered native kernel', () => {
    const r = bench(['train', '--model', 'resnet34', '--batch', '2', '--size', '32', '--steps', '1', '--backend', 'wasm']);
    expect(r.backend).toBe('wasm');
    expect(r.imgPerSec as number).toBeGreaterThan(0);
  }, 300_000);
});
