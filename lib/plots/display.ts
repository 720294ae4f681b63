/**
 * The one display entry point for notebooks, and the one place that knows whether code runs in a notebook.
 *
 *   import { show } from './lib/index';
 *   await show(confusionMatrixFigure(cm, classes));   // a plotly figure: interactive + PNG
 *   await show(countsFrame(items));                   // a danfojs DataFrame (or rows of records): an HTML table
 *   await show(gifBytes);  await show(pngBytes);      // images, by their magic bytes
 *   await show('<b>html</b>');                        // HTML
 *
 * A figure becomes one multi-mime output: `application/vnd.plotly.v1+json` (interactive, without trusting
 * anything, in JupyterLab with the plotly extension, VS Code and nteract), `image/png` rendered in headless
 * Chromium (the fallback everywhere, classic Notebook included) and `text/plain`. No plotly bundle and no
 * script is put into the notebook. Outside a notebook `show` displays nothing and returns the bundle.
 */
import { createRequire } from 'node:module';
import type { Figure } from './figures';
import { plotlyBundlePath, renderFigure, RenderUnavailableError } from './render';
import { escapeHtml, humanNumber, tableHtml } from '../html';

/** Jupyter's MIME type for plotly figures. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** One Jupyter output: data by MIME type (binary as base64). */
export type MimeBundle = Record<string, string | Record<string, unknown>>;

/** A display in the notebook that can be rewritten in place (progress bars). */
export interface NotebookDisplay {
  /** Rewrites the display: `s` as HTML, `text` its plain-text form (what nbconvert's text exports and GitHub show). */
  html(s: string, text?: string): void;
}

interface TslabJupyter {
  lastWriteDisplayData: ((data: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void) | null;
}

const requireHere = createRequire(__filename);

let sendsQueued = false;

function tslabJupyter(): TslabJupyter | undefined {
  try {
    const jupyter = requireHere('tslab/dist/jupyter') as TslabJupyter;
    if (jupyter.lastWriteDisplayData != null && !sendsQueued) {
      sendsQueued = true; // once per process: this runs on every display (progress redraws included)
      try {
        queueKernelSends();
      } catch {
        // Unqueued sends still work (the race is rare): never lose the notebook's displays over it.
      }
    }
    return jupyter;
  } catch {
    return undefined;
  }
}

interface QueuedSocket {
  send(msg: unknown): Promise<void>;
}

/** The zeromq module as far as {@link queueZeromqSends} needs it. */
export interface ZeromqModule {
  Publisher: { prototype: object };
}

function queueKernelSends(): void {
  queueZeromqSends(createRequire(requireHere.resolve('tslab/dist/jupyter'))('zeromq') as ZeromqModule);
}

/**
 * tslab writes every output with `socket.send(…)` and does not wait for it; zeromq 6 throws EBUSY when a send
 * starts while the socket's previous one is still in flight, and the kernel dies ("Socket is busy writing" — met
 * at a cell boundary after a long fit on a loaded machine). Chains each socket's sends so one starts when the last
 * has finished, in order. Applied once per zeromq module (in a kernel: the one tslab loads).
 */
export function queueZeromqSends(zmq: ZeromqModule): void {
  const socket = Object.getPrototypeOf(zmq.Publisher.prototype) as { send: QueuedSocket['send']; deviseQueued?: boolean };
  if (socket.deviseQueued) return;
  const send = socket.send;
  // Sockets are not extensible, so each one's last send is kept beside it.
  const lastSend = new WeakMap<QueuedSocket, Promise<unknown>>();
  // zeromq defines `send` read-only (but configurable): redefine it rather than assign.
  Object.defineProperty(socket, 'send', {
    configurable: true,
    value: function (this: QueuedSocket, msg: unknown) {
      const next = (lastSend.get(this) ?? Promise.resolve()).then(() => send.call(this, msg));
      lastSend.set(this, next.catch(() => undefined));
      return next;
    },
  });
  socket.deviseQueued = true;
}

/** Whether this code runs inside a tslab kernel (checked without emitting any output). */
export function inNotebook(): boolean {
  // tslab's display functions throw "Not ready" until the kernel has set this writer.
  return tslabJupyter()?.lastWriteDisplayData != null;
}

/** Sends one output (several MIME types) to the notebook; false outside one. */
export function displayBundle(data: MimeBundle, opts: { displayId?: string; update?: boolean } = {}): boolean {
  const write = tslabJupyter()?.lastWriteDisplayData;
  if (!write) return false;
  write({ data, metadata: {}, transient: opts.displayId ? { display_id: opts.displayId } : {} }, opts.update ?? false);
  return true;
}

let displays = 0;

/** A new display in the current cell, rewritten by each `html()` call (no-op outside a notebook). */
export function newDisplay(): NotebookDisplay {
  const displayId = `devise-${process.pid}-${Date.now().toString(36)}-${displays++}`;
  let shown = false;
  return {
    html(s: string, text = '[progress]') {
      displayBundle({ 'text/html': s, 'text/plain': text }, { displayId, update: shown });
      shown = true;
    },
  };
}

/** Options for {@link show} and {@link mimeBundle}. */
export interface ShowOptions {
  width?: number;
  height?: number;
  /** Render the static PNG in headless Chromium (default true). */
  static?: boolean;
  /** Table rows shown for data frames and record arrays (default 60). */
  limit?: number;
}

/** Anything {@link show} displays. */
export type Showable = Figure | string | Uint8Array | FrameLike | Record<string, unknown>[];

/** The part of a danfojs DataFrame that `show` reads. */
export interface FrameLike {
  columns: string[];
  values: unknown[];
  shape?: number[];
  print?(): void;
}

const isFigure = (x: unknown): x is Figure => typeof x === 'object' && x !== null && Array.isArray((x as Figure).data) && typeof (x as Figure).layout === 'object';
const isFrame = (x: unknown): x is FrameLike => typeof x === 'object' && x !== null && !Array.isArray(x) && Array.isArray((x as FrameLike).columns) && Array.isArray((x as FrameLike).values);

/** The image MIME type of encoded bytes (PNG, GIF, JPEG), from their magic numbers. */
export function imageMime(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return 'image/png';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'image/gif';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  throw new Error('show: bytes are not a PNG, GIF or JPEG image');
}

/** The figure's size: the options, the layout's, or 800 × 560. */
export function figureSize(fig: Figure, opts: { width?: number; height?: number } = {}): { width: number; height: number } {
  return {
    width: opts.width ?? (fig.layout.width as number | undefined) ?? 800,
    height: opts.height ?? (fig.layout.height as number | undefined) ?? 560,
  };
}

/** A figure's title text ('figure' when it has none). */
export function figureTitle(fig: Figure): string {
  const t = fig.layout.title as { text?: string } | string | undefined;
  return ((typeof t === 'string' ? t : t?.text) || 'figure').replace(/<[^>]+>/g, '');
}

/** The plotly MIME payload: data, layout (with its size), frames, and a config without the toolbar over titles. */
export function plotlyPayload(fig: Figure, opts: { width?: number; height?: number } = {}): Record<string, unknown> {
  const { width, height } = figureSize(fig, opts);
  return { data: fig.data, layout: { ...fig.layout, width, height }, ...(fig.frames?.length ? { frames: fig.frames } : {}), config: { displayModeBar: false, displaylogo: false } };
}

/** The outputs `show(x)` sends, computed without a notebook (tests and reports use it). */
export async function mimeBundle(x: Showable, opts: ShowOptions = {}): Promise<MimeBundle> {
  if (x instanceof Uint8Array) return { [imageMime(x)]: Buffer.from(x).toString('base64'), 'text/plain': `[${imageMime(x)}, ${x.length} bytes]` };
  if (typeof x === 'string') return { 'text/html': x, 'text/plain': x.replace(/<[^>]+>/g, '') };
  if (isFigure(x)) {
    const size = figureSize(x, opts);
    const out: MimeBundle = { [PLOTLY_MIME]: plotlyPayload(x, size) };
    let plain = `[figure: ${figureTitle(x)}]`;
    if (opts.static !== false) {
      try {
        out['image/png'] = (await renderFigure(x, size)).toString('base64');
      } catch (err) {
        if (!(err instanceof RenderUnavailableError)) throw err;
        plain += `\nStatic image unavailable: ${err.message}`;
      }
    }
    out['text/plain'] = plain;
    return out;
  }
  const limit = opts.limit ?? 60;
  if (isFrame(x)) {
    const all = x.values as unknown[][];
    const rows = all.slice(0, limit);
    const caption = all.length > limit ? `${all.length} rows, first ${limit} shown` : undefined;
    return { 'text/html': tableHtml(x.columns, rows, caption), 'text/plain': textTable(x.columns, rows) };
  }
  if (Array.isArray(x)) {
    const columns = [...new Set(x.flatMap((r) => Object.keys(r)))];
    const rows = x.slice(0, limit).map((r) => columns.map((c) => r[c] ?? ''));
    return { 'text/html': tableHtml(columns, rows, x.length > limit ? `${x.length} rows, first ${limit} shown` : undefined), 'text/plain': textTable(columns, rows) };
  }
  throw new Error(`show: cannot display ${typeof x}; pass a figure, HTML, image bytes, a data frame or an array of records`);
}

/** A plain-text table (the `text/plain` of tables; what a terminal sees). */
function textTable(columns: string[], rows: unknown[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((v) => humanNumber(v)))];
  const widths = columns.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? '').length)));
  return cells.map((r) => r.map((c, j) => String(c ?? '').padEnd(widths[j]!)).join('  ').trimEnd()).join('\n');
}

/**
 * Displays `x` in the notebook (figure, HTML, image bytes, data frame, records); outside a notebook it
 * prints the text form to stdout. Resolves to nothing, so a cell ending in `await show(x)` prints no object.
 */
export async function show(x: Showable, opts: ShowOptions = {}): Promise<void> {
  const bundle = await mimeBundle(x, opts);
  if (!displayBundle(bundle)) console.log(String(bundle['text/plain'] ?? ''));
}

/** Shows several outputs side by side as one HTML block (e.g. images with captions). */
export function htmlGrid(items: { png: Uint8Array; caption: string }[], px = 160): string {
  const cells = items.map((it) => `<figure style="display:inline-block;margin:4px;text-align:center"><img src="data:${imageMime(it.png)};base64,${Buffer.from(it.png).toString('base64')}" width="${px}"><figcaption style="font-size:12px">${escapeHtml(it.caption)}</figcaption></figure>`);
  return `<div>${cells.join('')}</div>`;
}

let pageFigures = 0;
let bundleText: string | undefined;

/**
 * A figure for a standalone HTML page (the demo's report, not notebooks): a static PNG (or a message saying why
 * there is none) that a script replaces with the interactive plot; `includeBundle` inlines the local plotly
 * bundle (once per page; no CDN).
 */
export function figureHtml(fig: Figure, opts: { width?: number; height?: number; png?: Uint8Array; message?: string; includeBundle?: boolean } = {}): string {
  const { width, height } = figureSize(fig, opts);
  const id = `devise-plot-${pageFigures++}`;
  const fallback = opts.png
    ? `<img src="data:image/png;base64,${Buffer.from(opts.png).toString('base64')}" width="${width}" height="${height}" alt="${escapeHtml(figureTitle(fig))}">`
    : `<pre>${escapeHtml(opts.message ?? 'Interactive plotly figure: open the page with scripts enabled.')}</pre>`;
  bundleText ??= opts.includeBundle ? requireHere('node:fs').readFileSync(plotlyBundlePath(), 'utf8') : undefined;
  const bundle = opts.includeBundle ? `<script type="text/javascript">${scriptSafe(bundleText!)}</script>\n` : '';
  const p = plotlyPayload(fig, { width, height });
  const figure = scriptSafe(JSON.stringify(p));
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

/** Keeps a `</script` or `<!--` inside inlined JS/JSON (a class called "</script>") from breaking the script element. */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
