import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mimeBundle, PLOTLY_MIME } from '../../lib/plots/display';
import { classColor } from '../../lib/plots/figures';
import { figureGif } from '../../lib/plots/gif';
import { dataUri, topLossesFigure } from '../../lib/plots/images';
import { closeSharedRenderer, exportFigure, openRenderer, RenderUnavailableError, type FigureRenderer } from '../../lib/plots/render';
import { SHARED, tempDir } from '../helpers';
import { CM, cmFigure, lrFigure, pcaAnimation, PCA_CLASSES } from './fixtures';

/** Size and the set of distinct RGB colours of a PNG, decoded by sharp. */
async function decode(png: Buffer): Promise<{ width: number; height: number; colours: Set<number>; has(hex: string, tol?: number): boolean }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 3) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  const has = (hex: string, tol = 6) => {
    const [r, g, b] = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
    for (const c of colours) if (Math.abs((c >> 16) - r) <= tol && Math.abs(((c >> 8) & 255) - g) <= tol && Math.abs((c & 255) - b) <= tol) return true;
    return false;
  };
  return { width: info.width, height: info.height, colours, has };
}

// The same checks for both engines: plotly in headless Chromium, and the browser-free SVG drawing (svg.ts) that a
// machine without Chromium gets.
describe.each(['chromium', 'svg'] as const)('figures rendered by %s', (engine) => {
  let r: FigureRenderer;
  const tmp = tempDir('devise-plots-');
  beforeAll(async () => { r = await openRenderer({ engine }); });
  afterAll(async () => {
    await r?.close();
    await closeSharedRenderer();
    tmp.cleanup();
  });

  it('PCA scatter → PNG of the requested size with every class colour drawn', async () => {
    const img = await decode(await r.render(pcaAnimation(3), { width: 640, height: 560 }));
    expect([img.width, img.height]).toEqual([640, 560]);
    expect(img.colours.size).toBeGreaterThan(20);
    // The class-vector triangles are opaque, so each class colour appears exactly.
    PCA_CLASSES.forEach((_, c) => expect(img.has(classColor(c, PCA_CLASSES.length)), PCA_CLASSES[c]).toBe(true));
  });

  it('confusion matrix → PNG not blank, and every count in the SVG text', async () => {
    const img = await decode(await r.render(cmFigure(), { width: 500, height: 420 }));
    expect([img.width, img.height]).toEqual([500, 420]);
    expect(img.colours.size).toBeGreaterThan(10);
    const svg = await r.render(cmFigure(), { format: 'svg', width: 500, height: 420 });
    expect(svg.startsWith('<svg')).toBe(true);
    const texts = [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)<\/(?:text|tspan)>/g)].map((m) => m[1]);
    for (const n of CM.flat()) expect(texts, `count ${n}`).toContain(String(n));
    for (const label of ['cat', 'dog', 'horse', 'Predicted', 'Actual']) expect(texts).toContain(label);
  });

  it('LR finder → PNG at the requested size and scale, with the red suggestion marker', async () => {
    const img = await decode(await r.render(lrFigure(), { width: 300, height: 200, scale: 2 }));
    expect([img.width, img.height]).toEqual([600, 400]);
    expect(img.has('#d62728')).toBe(true);
    expect(img.has('#1f77b4', 40)).toBe(true);
  });

  it('image grids draw the real photos (data URIs load before the PNG is taken)', async () => {
    const dir = path.join(SHARED, 'data', 'cifar10-sample', 'cat');
    const photos = fs.readdirSync(dir).sort().slice(0, 4).map((f) => dataUri(fs.readFileSync(path.join(dir, f))));
    const fig = topLossesFigure(photos.map((image, i) => ({ image, predicted: 'dog', actual: 'cat', loss: 3 - i, probability: 0.7 })), { cols: 2 });
    const img = await decode(await r.render(fig, { width: 400, height: 500 }));
    expect([img.width, img.height]).toEqual([400, 500]);
    // Text and axes alone give a couple of hundred anti-aliased colours (the empty grid below); photos give thousands.
    expect(img.colours.size).toBeGreaterThan(2000);
    const blank = await decode(await r.render(topLossesFigure([], {}), { width: 400, height: 500 }));
    expect(blank.colours.size).toBeLessThan(500);
  });

  it('animated GIF: one frame per epoch, decoded by sharp', async () => {
    const gif = await figureGif(pcaAnimation(5), { width: 320, height: 280, delayMs: 500, renderer: r });
    const meta = await sharp(gif, { pages: -1 }).metadata();
    expect(meta.format).toBe('gif');
    expect(meta.pages).toBe(5);
    expect([meta.width, meta.pageHeight]).toEqual([320, 280]);
    expect(meta.delay).toEqual([500, 500, 500, 500, 500]);
    // Frames differ (the points move between epochs).
    const frames = await sharp(gif, { pages: -1 }).raw().toBuffer();
    const size = 320 * 280 * (frames.length / (320 * 280 * 5));
    expect(frames.subarray(0, size).equals(frames.subarray(4 * size, 5 * size))).toBe(false);
  });

  it("PCA GIF as the original's: four classes with their label triangles, one frame per epoch, axes that do not move", async () => {
    const [w, h, epochs] = [640, 560, 4];
    const fig = pcaAnimation(epochs);
    expect(PCA_CLASSES).toHaveLength(4);
    const triangles = fig.frames!.map((f) => f.data.find((t) => (t.marker as { symbol?: string })?.symbol === 'triangle-up'));
    triangles.forEach((t) => expect(t?.text).toEqual(PCA_CLASSES));
    const gif = await figureGif(fig, { width: w, height: h, renderer: r });
    const meta = await sharp(gif, { pages: -1 }).metadata();
    expect([meta.pages, meta.width, meta.pageHeight]).toEqual([epochs, w, h]);
    const { data, info } = await sharp(gif, { pages: -1 }).raw().toBuffer({ resolveWithObject: true });
    const ch = info.channels;
    // Dark pixels (axis lines, tick labels) left of and below the plot area; the plot area and the title change.
    const margin = fig.layout.margin as { t: number; b: number; r: number };
    const axisMask = (frame: number): string => {
      const bits: number[] = [];
      for (let y = margin.t; y < h - 30; y++) {
        for (let x = 0; x < w - margin.r; x++) {
          const outside = x < 78 || y > h - margin.b - 2;
          if (!outside) continue;
          const i = ((frame * h + y) * w + x) * ch;
          // The cores of lines and glyphs (#444); anti-aliased edges are left out, as each frame has its own palette.
          bits.push(data[i]! + data[i + 1]! + data[i + 2]! < 3 * 80 ? 1 : 0);
        }
      }
      return bits.join('');
    };
    const first = axisMask(0);
    expect(first.includes('1')).toBe(true);
    for (let e = 1; e < epochs; e++) expect(axisMask(e) === first, `frame ${e + 1}: axes moved`).toBe(true);
    // Every class colour is in every frame (the triangles are opaque).
    for (let e = 0; e < epochs; e++) {
      const png = await sharp(gif, { page: e }).png().toBuffer();
      const img = await decode(png);
      PCA_CLASSES.forEach((_, c) => expect(img.has(classColor(c, PCA_CLASSES.length), 12), `frame ${e + 1}, ${PCA_CLASSES[c]}`).toBe(true));
    }
  });

  // Through the shared renderer (Chromium here): once is enough; the svg engine's show() is tested below.
  it.skipIf(engine === 'svg')('exports PNG/SVG files atomically through the shared browser', async () => {
    const png = path.join(tmp.dir, 'out', 'cm.png');
    const svg = path.join(tmp.dir, 'out', 'lr.svg');
    await exportFigure(cmFigure(), png, { width: 400, height: 300 });
    await exportFigure(lrFigure(), svg);
    expect((await sharp(png).metadata()).width).toBe(400);
    expect(fs.readFileSync(svg, 'utf8')).toContain('Learning rate');
    expect(fs.readdirSync(path.dirname(png)).sort()).toEqual(['cm.png', 'lr.svg']);
    await expect(exportFigure(cmFigure(), path.join(tmp.dir, 'cm.jpg'))).rejects.toThrow(/must end in .png or .svg/);
  });

  // Through the shared renderer (Chromium here): once is enough; the svg engine's show() is tested below.
  it.skipIf(engine === 'svg')('mimeBundle (what show() sends): plotly JSON + PNG + text, no HTML, no script, no bundle', async () => {
    const b = await mimeBundle(cmFigure(), { width: 400, height: 300 });
    expect(Object.keys(b).sort()).toEqual(['application/vnd.plotly.v1+json', 'image/png', 'text/plain']);
    expect((await sharp(Buffer.from(b['image/png'] as string, 'base64')).metadata()).height).toBe(300);
    const plotly = b[PLOTLY_MIME] as { data: unknown[]; layout: { width: number; height: number }; config: { displayModeBar: boolean } };
    expect(plotly.layout.width).toBe(400);
    expect(plotly.config.displayModeBar).toBe(false);
    expect(JSON.stringify(b)).not.toContain('<script');
  });
});

describe('without a browser', () => {
  it("openRenderer({ engine: 'chromium' }) throws a clear RenderUnavailableError", async () => {
    const err = await openRenderer({ executablePath: '/nonexistent/chromium', engine: 'chromium' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderUnavailableError);
    expect((err as Error).message).toMatch(/No browser at \/nonexistent\/chromium.*DEVISE_CHROMIUM/);
  });

  it('openRenderer without a browser draws the figure itself (SVG rasterised by sharp) at the size asked', async () => {
    const r = await openRenderer({ executablePath: '/nonexistent/chromium' });
    const png = await r.render(cmFigure(), { width: 420, height: 330 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 420, 330]);
    expect(await r.render(cmFigure(), { format: 'svg' })).toMatch(/^<svg[^>]*>[\s\S]*Confusion matrix/);
    await r.close();
  });

  it('show() still gives the PNG beside the interactive figure', async () => {
    const saved = process.env.DEVISE_CHROMIUM;
    process.env.DEVISE_CHROMIUM = '/nonexistent/chromium';
    try {
      await closeSharedRenderer();
      const shown = await mimeBundle(cmFigure());
      expect((await sharp(Buffer.from(shown['image/png'] as string, 'base64')).metadata()).format).toBe('png');
      expect(shown[PLOTLY_MIME]).toBeDefined();
    } finally {
      await closeSharedRenderer();
      if (saved === undefined) delete process.env.DEVISE_CHROMIUM;
      else process.env.DEVISE_CHROMIUM = saved;
    }
  });
});
