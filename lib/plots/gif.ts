/**
 * Animated GIFs of figure frames, like the original's PCA_Squeezenet_2a_Epochs1to5.gif.
 *
 *   import { exportGif } from './lib/plots/gif';
 *   await exportGif(pcaScatterFigure(classes, frames), 'pca-2a.gif', { width: 640, height: 560, delayMs: 900 });
 *
 * Each animation frame is rendered to PNG in headless Chromium (render.ts), decoded with sharp and
 * quantised per frame to 256 colours with gifenc.
 */
import sharp from 'sharp';
import { frameFigures, type Figure } from './figures';
import { writeFileAtomically } from '../backend/io';
import { renderFigure, type FigureRenderer } from './render';

/** The part of gifenc's (untyped) API we use. */
interface Gifenc {
  GIFEncoder(): { writeFrame(index: Uint8Array, w: number, h: number, o: { palette: number[][]; delay: number; repeat: number }): void; finish(): void; bytes(): Uint8Array };
  quantize(rgba: Uint8Array, maxColors: number): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][]): Uint8Array;
}
const gifenc = require('gifenc') as Gifenc;

/** Options for {@link encodeGif}. */
export interface GifOptions {
  /** Milliseconds each frame shows (default 800). */
  delayMs?: number;
  /** 0 = loop forever (default), -1 = play once, n = repeat n times. */
  repeat?: number;
}

/** Encodes PNG (or any sharp-readable) frames of one size into an animated GIF. */
export async function encodeGif(images: Uint8Array[], opts: GifOptions = {}): Promise<Buffer> {
  if (images.length === 0) throw new Error('encodeGif: no frames given');
  const gif = gifenc.GIFEncoder();
  let size: [number, number] | undefined;
  for (const [i, img] of images.entries()) {
    const { data, info } = await sharp(img).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    size ??= [info.width, info.height];
    if (info.width !== size[0] || info.height !== size[1]) {
      throw new Error(`encodeGif: frame ${i} is ${info.width}×${info.height}, frame 0 is ${size[0]}×${size[1]}: render every frame at one size`);
    }
    const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const palette = gifenc.quantize(rgba, 256);
    gif.writeFrame(gifenc.applyPalette(rgba, palette), info.width, info.height, { palette, delay: opts.delayMs ?? 800, repeat: opts.repeat ?? 0 });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}

/** Renders every animation frame of `fig` (one per epoch for a PCA scatter) and encodes them as a GIF. */
export async function figureGif(fig: Figure, opts: GifOptions & { width?: number; height?: number; renderer?: FigureRenderer } = {}): Promise<Buffer> {
  const size = { width: opts.width ?? 640, height: opts.height ?? 560 };
  const pngs: Buffer[] = [];
  for (const f of frameFigures(fig)) pngs.push(opts.renderer ? await opts.renderer.render(f, size) : await renderFigure(f, size));
  return encodeGif(pngs, opts);
}

/** Writes {@link figureGif} to `file` atomically. */
export async function exportGif(fig: Figure, file: string, opts: Parameters<typeof figureGif>[1] = {}): Promise<void> {
  writeFileAtomically(file, await figureGif(fig, opts));
}
