/**
 * Shows plotly figures in tslab notebooks so that a saved notebook still shows them offline.
 *
 *   import { show } from './lib/plots/display';
 *   await show(confusionMatrixFigure(cm, classes));   // in a tslab cell; elsewhere returns {html, png}
 *   showGif(await figureGif(pcaAnimationFigure(...)));  // the animated PCA, as an image
 *
 * The output is one trusted HTML block: a static PNG rendered in headless Chromium (shown as-is where
 * scripts do not run: untrusted notebooks, viewers) that a script replaces with the interactive plot.
 * The script uses the locally installed plotly bundle, inlined into the first figure of each kernel
 * session (no CDN); later figures wait for it. Without a browser the interactive part still works
 * and the static part is replaced by a message saying why.
 */
import { figureGif } from './gif';
import * as fs from 'node:fs';
import type { Figure } from './figures';
import { plotlyBundlePath, renderFigure, RenderUnavailableError } from './render';
import { escapeHtml } from '../html';

/** Options for {@link show} and {@link figureHtml}. */
export interface ShowOptions {
  width?: number;
  height?: number;
  /** 'once' (default): inline plotly into the first figure of this process; 'always'; 'never' (the page must already have window.Plotly). */
  bundle?: 'once' | 'always' | 'never';
  /** Render the static PNG fallback in headless Chromium (default true). */
  static?: boolean;
}

/** What {@link show} produced: the HTML it displayed, the static PNG (if a browser was available) or why not. */
export interface Shown { html: string; png?: Buffer; message?: string; displayed: boolean }

let bundleSent = false;
let bundleText: string | undefined;
let counter = 0;

/** Builds the self-contained HTML for a figure: static fallback (PNG or message), optional plotly bundle, and the script that draws it. */
export function figureHtml(fig: Figure, opts: { width?: number; height?: number; png?: Uint8Array; message?: string; includeBundle?: boolean } = {}): string {
  const { width, height } = sizeOf(fig, opts);
  const id = `devise-plot-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const fallback = opts.png
    ? `<img src="data:image/png;base64,${Buffer.from(opts.png).toString('base64')}" width="${width}" height="${height}" alt="${escapeHtml(titleOf(fig))}">`
    : `<pre>${escapeHtml(opts.message ?? 'Interactive plotly figure: run the notebook trusted to see it.')}</pre>`;
  const bundle = opts.includeBundle ? `<script type="text/javascript">${scriptSafe(plotlyBundle())}</script>\n` : '';
  const figure = scriptSafe(JSON.stringify({ data: fig.data, layout: { ...fig.layout, width, height }, frames: fig.frames ?? [] }));
  // Poll (up to 30 s) for window.Plotly: the bundle is in an earlier output that may render after this one.
  const draw = `(function () {
  var fig = ${figure};
  var el = document.getElementById(${JSON.stringify(id)});
  function draw() {
    if (!window.Plotly || !el) return false;
    el.innerHTML = '';
    window.Plotly.newPlot(el, fig);
    return true;
  }
  if (!draw()) { var n = 0; var t = setInterval(function () { if (draw() || ++n > 300) clearInterval(t); }, 100); }
})();`;
  return `<div id="${id}" class="devise-plot" style="width:${width}px;min-height:${height}px">${fallback}</div>\n${bundle}<script type="text/javascript">${draw}</script>`;
}

/** Displays a figure in the tslab notebook it runs in (no-op elsewhere) and returns what it built. */
export async function show(fig: Figure, opts: ShowOptions = {}): Promise<Shown> {
  const { width, height } = sizeOf(fig, opts);
  let png: Buffer | undefined;
  let message: string | undefined;
  if (opts.static !== false) {
    try {
      png = await renderFigure(fig, { width, height });
    } catch (err) {
      if (!(err instanceof RenderUnavailableError)) throw err;
      message = `Static image unavailable: ${err.message}`;
    }
  }
  const mode = opts.bundle ?? 'once';
  const includeBundle = mode === 'always' || (mode === 'once' && !bundleSent);
  const html = figureHtml(fig, { width, height, png, message, includeBundle });
  const displayed = displayRaw('text/html', html);
  if (displayed && includeBundle) bundleSent = true;
  return { html, png, message, displayed };
}

/** Shows GIF bytes (e.g. from figureGif) in the tslab notebook; false outside one. */
export function showGif(gif: Uint8Array): boolean {
  return displayRaw('image/gif', gif);
}

/** Sends one output to the tslab notebook when running inside its kernel; false outside (tslab throws "Not ready"). */
function displayRaw(mime: string, content: string | Uint8Array): boolean {
  let tslab: { display: { raw(mime: string, content: string | Uint8Array): void } };
  try {
    // Guarded: tslab is only usable inside its kernel, and lib/ must work in plain Node too.
    tslab = require('tslab');
  } catch {
    return false;
  }
  try {
    tslab.display.raw(mime, content);
    return true;
  } catch {
    return false;
  }
}

function plotlyBundle(): string {
  bundleText ??= fs.readFileSync(plotlyBundlePath(), 'utf8');
  return bundleText;
}

function sizeOf(fig: Figure, opts: { width?: number; height?: number }): { width: number; height: number } {
  return {
    width: opts.width ?? (fig.layout.width as number | undefined) ?? 800,
    height: opts.height ?? (fig.layout.height as number | undefined) ?? 560,
  };
}

function titleOf(fig: Figure): string {
  const t = fig.layout.title as { text?: string } | string | undefined;
  return (typeof t === 'string' ? t : t?.text) ?? 'figure';
}

/** Keeps a `</script` or `<!--` inside inlined JS/JSON (a class called "</script>") from breaking the script element. */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** `show` for notebook cells: displays the figure and returns nothing, so the cell prints no object. */
export async function plot(fig: Figure, opts: ShowOptions = {}): Promise<void> {
  await show(fig, opts);
}

/** Displays an animated figure (e.g. the PCA per epoch) as a GIF in the notebook, one frame per animation frame. */
export async function plotGif(fig: Figure, opts: { width?: number; height?: number } = {}): Promise<void> {
  showGif(await figureGif(fig, opts));
}
