import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { CENTER, type RgbImage, type TransformParams, applyTransforms, decodeImage, getTransforms, sampleParams, symmetricWarpCoeffs } from '../../lib/data/augment';
import { Rng } from '../../lib/data/rng';
import { tempDir } from '../helpers';

const { dir, cleanup } = tempDir('devise-augment-');
afterAll(cleanup);

/** S×S checkerboard of `cell`-pixel squares, black and white. */
function checkerboard(S: number, cell: number): RgbImage {
  const data = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) data.fill(((Math.floor(x / cell) + Math.floor(y / cell)) % 2) * 255, (y * S + x) * 3, (y * S + x) * 3 + 3);
  return { data, width: S, height: S };
}

/** Smooth colourful test image (no flat regions, so every transform changes pixels). */
function gradient(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([(x * 255) / (w - 1), (y * 255) / (h - 1), ((x + y) * 97) % 256], (y * w + x) * 3);
  return { data, width: w, height: h };
}

const pixel = (img: Uint8Array, size: number, x: number, y: number) => Array.from(img.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));

describe('decodeImage', () => {
  it('decodes JPEG, PNG+alpha, 16-bit PNG, WebP, grayscale, CMYK and EXIF-rotated images to 8-bit RGB', async () => {
    const red = { width: 40, height: 20, channels: 3 as const, background: { r: 220, g: 30, b: 30 } };
    const files: Record<string, Buffer> = {
      'rgb.jpg': await sharp({ create: red }).jpeg().toBuffer(),
      'alpha.png': await sharp({ create: { width: 40, height: 20, channels: 4, background: { r: 220, g: 30, b: 30, alpha: 1 } } }).png().toBuffer(),
      'rgb.webp': await sharp({ create: red }).webp({ quality: 95 }).toBuffer(),
      'gray.jpg': await sharp({ create: red }).grayscale().jpeg().toBuffer(),
      'cmyk.jpg': await sharp({ create: red }).toColourspace('cmyk').jpeg().toBuffer(),
      'rgb16.png': await sharp({ create: red }).toColourspace('rgb16').png().toBuffer(),
      'gray16.png': await sharp({ create: red }).toColourspace('grey16').png().toBuffer(),
    };
    for (const [name, buf] of Object.entries(files)) {
      const p = path.join(dir, name);
      fs.writeFileSync(p, buf);
      const img = await decodeImage(p);
      expect([img.width, img.height, img.data.length], name).toEqual([40, 20, 40 * 20 * 3]);
      const [r, g, b] = Array.from(img.data.subarray(0, 3));
      if (name.startsWith('gray')) expect(r === g && g === b, name).toBe(true);
      else expect(r! > 180 && g! < 80 && b! < 80, `${name}: ${[r, g, b]}`).toBe(true);
    }
    // EXIF orientation 6 (rotate 90° clockwise to display): a 40×20 stored image with a red left half shows as 20×40, red on top.
    const stored = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#0000ff' } })
      .composite([{ input: { create: { width: 20, height: 20, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImage(stored);
    expect([img.width, img.height]).toEqual([20, 40]);
    expect(img.data[(5 * 20 + 10) * 3]!).toBeGreaterThan(200); // top: red
    expect(img.data[(35 * 20 + 10) * 3 + 2]!).toBeGreaterThan(200); // bottom: blue
    const small = await decodeImage(stored, 10); // orientation is applied before the resize
    expect([small.width, small.height]).toEqual([10, 20]);
  });

  it('resizes so the short side is size (ResizeMethod.CROP), and output is always [size, size, 3]', async () => {
    const rng = new Rng(1);
    for (const [w, h] of [[32, 32], [500, 375], [100, 400], [7, 3]] as const) {
      const buf = await sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } }).png().toBuffer();
      for (const size of [24, 64]) {
        const img = await decodeImage(buf, size);
        expect(Math.min(img.width, img.height)).toBe(size);
        expect(Math.abs(img.width / img.height - w / h)).toBeLessThan(0.05 * Math.max(1, w / h));
        for (let k = 0; k < 5; k++) expect(applyTransforms(img, size, sampleParams(rng, getTransforms())).length).toBe(size * size * 3);
      }
    }
  });
});

describe('applyTransforms', () => {
  const img = gradient(48, 40);

  it('flip is an exact horizontal mirror', () => {
    for (const base of [CENTER, { ...CENTER, rotate: 5, brightness: 0.55 }]) {
      const a = applyTransforms(img, 32, base);
      const b = applyTransforms(img, 32, { ...base, flip: true });
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) expect(pixel(b, 32, x, y)).toEqual(pixel(a, 32, 31 - x, y));
    }
  });

  it('crop position follows rowPct/colPct; center crop is the middle', () => {
    const out = applyTransforms(img, 32, CENTER);
    expect(pixel(out, 32, 0, 0)).toEqual(Array.from(img.data.subarray((4 * 48 + 8) * 3, (4 * 48 + 8) * 3 + 3)));
    const corner = applyTransforms(img, 32, { ...CENTER, rowPct: 1, colPct: 0 });
    expect(pixel(corner, 32, 0, 0)).toEqual(Array.from(img.data.subarray(8 * 48 * 3, 8 * 48 * 3 + 3)));
  });

  it('rotate and zoom of a checkerboard match the closed-form mapping within a pixel', () => {
    const S = 96;
    const cell = 8;
    const board = checkerboard(S, cell);
    const c = (S - 1) / 2;
    const cases: { p: TransformParams; inv: (x: number, y: number) => [number, number] }[] = [
      { p: { ...CENTER, rotate: 7 }, inv: (x, y) => rot(x, y, 7) },
      { p: { ...CENTER, rotate: -10 }, inv: (x, y) => rot(x, y, -10) },
      { p: { ...CENTER, zoom: { scale: 1.1, rowPct: 0.9, colPct: 0.2 } }, inv: (x, y) => zoom(x, y, 1.1, 0.9, 0.2) },
      { p: { ...CENTER, rotate: 4, zoom: { scale: 1.05, rowPct: 0.3, colPct: 0.6 } }, inv: (x, y) => rot(...zoom(x, y, 1.05, 0.3, 0.6), 4) },
    ];
    // Rotation by a degrees about the center: source = R(a) · (output − c) + c.
    function rot(x: number, y: number, deg: number): [number, number] {
      const a = (deg * Math.PI) / 180;
      return [c + Math.cos(a) * (x - c) - Math.sin(a) * (y - c), c + Math.sin(a) * (x - c) + Math.cos(a) * (y - c)];
    }
    // fastai zoom: source (normalised) = output / scale + (1 − 1/scale)(2·pct − 1).
    function zoom(x: number, y: number, s: number, rowPct: number, colPct: number): [number, number] {
      return [c + c * ((x - c) / c / s + (1 - 1 / s) * (2 * colPct - 1)), c + c * ((y - c) / c / s + (1 - 1 / s) * (2 * rowPct - 1))];
    }
    for (const { p, inv } of cases) {
      const out = applyTransforms(board, S, p);
      let checked = 0;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const [xs, ys] = inv(x, y);
          if (xs < 0 || ys < 0 || xs > S - 1 || ys > S - 1) continue; // reflection padding region
          const dx = Math.min(xs % cell, cell - (xs % cell));
          const dy = Math.min(ys % cell, cell - (ys % cell));
          if (Math.min(dx, dy) < 1) continue; // within a pixel of an edge
          const want = ((Math.floor(xs / cell) + Math.floor(ys / cell)) % 2) * 255;
          expect(pixel(out, S, x, y)[0], `${JSON.stringify(p)} at (${x}, ${y})`).toBe(want);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(S * S * 0.5);
    }
  });

  it('matches torch grid_sample (bilinear, reflection padding, align_corners) for warp + zoom + rotate', () => {
    const S = 40;
    const src = gradient(S, S);
    const p: TransformParams = { ...CENTER, warp: [0.15, -0.1, 0.2, -0.18], rotate: 9, zoom: { scale: 1.08, rowPct: 0.3, colPct: 0.7 } };
    const ours = applyTransforms(src, S, p);
    const H = symmetricWarpCoeffs(p.warp!);
    // fastai 1.0.33: flow = warp(grid) then the affine (rotate @ zoom) in normalised coords (square image: same as pixel units).
    const script = `
import sys, json, math, torch, torch.nn.functional as F
S = ${S}; H = ${JSON.stringify(H)}; a = math.radians(${p.rotate}); s = ${p.zoom!.scale}; rp = ${p.zoom!.rowPct}; cp = ${p.zoom!.colPct}
img = torch.tensor(list(open(sys.argv[1], 'rb').read()), dtype=torch.float32).view(1, S, S, 3).permute(0, 3, 1, 2)
lin = torch.linspace(-1, 1, S)
y, x = torch.meshgrid(lin, lin, indexing='ij')
c = torch.stack([x, y, torch.ones_like(x)], -1).view(-1, 3)
Hm = torch.tensor(H + [1.0]).view(3, 3)
w = c @ Hm.t(); w = w[:, :2] / w[:, 2:]
R = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1.0]])
Z = torch.tensor([[1/s, 0, (1-1/s)*(2*cp-1)], [0, 1/s, (1-1/s)*(2*rp-1)], [0, 0, 1.0]])
M = R @ Z
g = w @ M[:2, :2].t() + M[:2, 2]
out = F.grid_sample(img, g.view(1, S, S, 2), mode='bilinear', padding_mode='reflection', align_corners=True)
sys.stdout.write(json.dumps(out[0].permute(1, 2, 0).reshape(-1).tolist()))
`;
    const rawFile = path.join(dir, 'grad.raw');
    fs.writeFileSync(rawFile, src.data);
    const res = spawnSync('/usr/bin/python3', ['-c', script, rawFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(res.status, res.stderr).toBe(0);
    const ref = JSON.parse(res.stdout) as number[];
    let worst = 0;
    ref.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours[i]!))));
    expect(worst).toBeLessThanOrEqual(1.01); // ours rounds to uint8 after interpolation
  });

  it('symmetric warp moves the corners to ±(1 + magnitude) as fastai', () => {
    const m = [0.1, -0.2, 0.05, 0.15] as const;
    const H = symmetricWarpCoeffs(m);
    const apply = (x: number, y: number) => {
      const d = H[6]! * x + H[7]! * y + 1;
      return [(H[0]! * x + H[1]! * y + H[2]!) / d, (H[3]! * x + H[4]! * y + H[5]!) / d];
    };
    const targ = [[-1 - m[3], -1 - m[1]], [-1 - m[2], 1 + m[1]], [1 + m[3], -1 - m[0]], [1 + m[2], 1 + m[0]]];
    const orig = [[-1, -1], [-1, 1], [1, -1], [1, 1]];
    targ.forEach(([x, y], k) => apply(x!, y!).forEach((v, d) => expect(v).toBeCloseTo(orig[k]![d]!, 9)));
  });

  it('same seed gives the same bytes; another seed does not', async () => {
    const file = path.join(dir, 'photo.jpg');
    fs.writeFileSync(file, await sharp(Buffer.from(gradient(500, 375).data), { raw: { width: 500, height: 375, channels: 3 } }).jpeg().toBuffer());
    const run = async (seed: number) => applyTransforms(await decodeImage(file, 64), 64, sampleParams(new Rng(seed), getTransforms()));
    expect(Buffer.from(await run(7)).equals(Buffer.from(await run(7)))).toBe(true);
    expect(Buffer.from(await run(7)).equals(Buffer.from(await run(8)))).toBe(false);
  });
});

describe('sampleParams', () => {
  it('applies each transform at its fastai probability and within its default magnitude', () => {
    const rng = new Rng(123);
    const opts = getTransforms();
    const N = 4000;
    const hits = { flip: 0, warp: 0, rotate: 0, zoom: 0, brightness: 0, contrast: 0 };
    for (let i = 0; i < N; i++) {
      const p = sampleParams(rng, opts);
      for (const k of Object.keys(hits) as (keyof typeof hits)[]) if (p[k] !== null && p[k] !== false) hits[k]++;
      if (p.rotate !== null) expect(Math.abs(p.rotate)).toBeLessThanOrEqual(10);
      if (p.zoom) expect(p.zoom.scale >= 1 && p.zoom.scale <= 1.1).toBe(true);
      if (p.warp) expect(Math.max(...p.warp.map(Math.abs))).toBeLessThanOrEqual(0.2);
      if (p.brightness !== null) expect(p.brightness >= 0.4 && p.brightness <= 0.6).toBe(true);
      if (p.contrast !== null) expect(p.contrast >= 0.8 && p.contrast <= 1.25).toBe(true);
      expect(p.rowPct >= 0 && p.rowPct <= 1 && p.colPct >= 0 && p.colPct <= 1).toBe(true);
    }
    const tol = 4 * Math.sqrt((0.25 * 0.75) / N); // 4 sigma
    expect(Math.abs(hits.flip / N - 0.5)).toBeLessThan(tol);
    for (const k of ['warp', 'rotate', 'zoom', 'brightness', 'contrast'] as const) expect(Math.abs(hits[k] / N - 0.75), k).toBeLessThan(tol);
  });

  it('in the pixels: flip-only changes half the outputs, lighting-only 1 − 0.25² of them', () => {
    const img = gradient(20, 20);
    const ref = Buffer.from(applyTransforms(img, 20, CENTER));
    const changed = (opts: Parameters<typeof getTransforms>[0], seed: number) => {
      const rng = new Rng(seed);
      let n = 0;
      for (let i = 0; i < 1000; i++) {
        const p = { ...sampleParams(rng, getTransforms(opts)), rowPct: 0.5, colPct: 0.5 };
        if (!Buffer.from(applyTransforms(img, 20, p)).equals(ref)) n++;
      }
      return n / 1000;
    };
    const none = { maxRotate: 0, maxZoom: 1, maxWarp: 0, maxLighting: 0 };
    expect(Math.abs(changed({ ...none, doFlip: true }, 1) - 0.5)).toBeLessThan(0.06);
    expect(Math.abs(changed({ ...none, doFlip: false, maxLighting: 0.2 }, 2) - (1 - 0.25 * 0.25))).toBeLessThan(0.04);
    expect(changed({ ...none, doFlip: false }, 3)).toBe(0);
  });
});
