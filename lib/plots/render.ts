/**
 * Renders plotly figures to PNG/SVG in headless Chromium (plotly cannot draw in plain Node).
 *
 *   import { openRenderer, exportFigure } from './lib/plots/render';
 *   const r = await openRenderer();                          // one browser for many figures
 *   const png = await r.render(fig, { width: 800, height: 600 });
 *   await r.close();
 *   await exportFigure(fig, 'out/cm.svg');                   // one-off, via a shared browser
 *
 * The browser is Debian's /usr/bin/chromium (override: `executablePath` or DEVISE_CHROMIUM), driven by
 * playwright-core with a fresh profile folder that is removed on close. Without a browser (or one that does not
 * start) the figures are drawn by svg.ts (SVG rasterised by sharp) instead, said once; `engine: 'chromium'` asks for
 * the browser only and throws RenderUnavailableError, whose message says how to install one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomically } from '../backend/io';
import { env } from '../env';
import type { BrowserContext, Page } from 'playwright-core';
import type { Figure, FigureRenderer, RenderOptions } from './figures';
// The renderer's types live with the figures, so svg.ts (the browser-free engine) needs nothing from this file.
export type { FigureRenderer, ImageFormat, RenderOptions } from './figures';
import { svgRenderer } from './svg';

/** Options for {@link openRenderer}. */
export interface RendererOptions {
  executablePath?: string;
  /** 'chromium' (plotly itself; throws RenderUnavailableError without a browser), 'svg' (no browser: svg.ts), default: Chromium when it starts, else svg. */
  engine?: 'chromium' | 'svg';
}

/** Thrown when no headless browser can be started; the message names the path tried and the fix. */
export class RenderUnavailableError extends Error {
  override name = 'RenderUnavailableError';
}

/** The Chromium flags we run with: headless, no sandbox (containers), nothing reaching the network. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The browser used by default: DEVISE_CHROMIUM or Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  return env.chromium ?? '/usr/bin/chromium';
}

/** Path of the locally installed plotly bundle (no CDN anywhere). */
export function plotlyBundlePath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/** Whether a browser executable exists at the given (default) path. */
export function browserAvailable(executablePath = chromiumPath()): boolean {
  try {
    fs.accessSync(executablePath, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts headless Chromium with plotly loaded; close() it when done (it removes its profile folder). */
export async function openRenderer(opts: RendererOptions = {}): Promise<FigureRenderer> {
  const executablePath = opts.executablePath ?? chromiumPath();
  if (opts.engine === 'svg') return svgRenderer();
  if (!browserAvailable(executablePath)) {
    if (opts.engine !== 'chromium') return withoutBrowser(`no browser at ${executablePath}`);
    throw new RenderUnavailableError(`No browser at ${executablePath} to render plotly figures: install Chromium (\`npm run deps\` or \`apt-get install chromium\`) or set DEVISE_CHROMIUM to a Chromium executable.`);
  }
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'devise-chromium-'));
  trackProfile(profile);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    removeProfile(profile);
    if (opts.engine !== 'chromium') return withoutBrowser(`${executablePath} did not start headless (${(err as Error).message.split('\n')[0]})`);
    throw new RenderUnavailableError(`Could not start ${executablePath} headless: ${(err as Error).message.split('\n')[0]}`);
  }
  let page: Page;
  try {
    page = context.pages()[0] ?? (await context.newPage());
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: plotlyBundlePath() });
  } catch (err) {
    await context.close().catch(() => undefined);
    removeProfile(profile);
    throw err;
  }
  const render = async (fig: Figure, o: RenderOptions = {}): Promise<Buffer | string> => {
    const format = o.format ?? 'png';
    const width = o.width ?? (fig.layout.width as number | undefined) ?? 800;
    const height = o.height ?? (fig.layout.height as number | undefined) ?? 600;
    const scale = o.scale ?? 1;
    const out = await page.evaluate(async ({ fig, format, width, height, scale }) => {
      const Plotly = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
      return Plotly.toImage({ data: fig.data, layout: { ...fig.layout, width, height }, config: { staticPlot: true } }, { format, width, height, scale, imageDataOnly: true });
    }, { fig: { data: fig.data, layout: fig.layout }, format, width, height, scale });
    return format === 'png' ? Buffer.from(out, 'base64') : out;
  };
  return {
    render: render as FigureRenderer['render'],
    async close() {
      await context.close().catch(() => undefined);
      removeProfile(profile);
    },
  };
}

let saidWithoutBrowser = false;
/** The browser-free renderer (svg.ts), said once per process: the figures are drawn without plotly. */
function withoutBrowser(why: string): FigureRenderer {
  if (!saidWithoutBrowser) console.warn(`note: ${why}: figures are drawn without a browser (SVG rasterised by sharp); install Chromium (\`npm run deps\`) for plotly's own rendering`);
  saidWithoutBrowser = true;
  return svgRenderer();
}

// Profile folders of browsers still open, removed at exit too: a notebook kernel is often shut down
// with a figure's browser still open (playwright kills the browser itself on exit).
const openProfiles = new Set<string>();
function trackProfile(dir: string): void {
  if (!process.listeners('exit').includes(removeProfilesAtExit)) process.on('exit', removeProfilesAtExit);
  openProfiles.add(dir);
}
function removeProfile(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  openProfiles.delete(dir);
}
function removeProfilesAtExit(): void {
  for (const dir of openProfiles) fs.rmSync(dir, { recursive: true, force: true });
}

// A browser shared by one-off calls (show, exportFigure), closed after a short idle time so that
// scripts can exit and notebooks do not keep a browser around between cells.
let shared: Promise<FigureRenderer> | undefined;
let idleTimer: NodeJS.Timeout | undefined;
const IDLE_MS = 15_000;

/** Renders with a shared browser (opened on first use, closed when idle). */
export async function renderFigure(fig: Figure, opts: RenderOptions & { format: 'svg' }): Promise<string>;
export async function renderFigure(fig: Figure, opts?: RenderOptions): Promise<Buffer>;
export async function renderFigure(fig: Figure, opts: RenderOptions = {}): Promise<Buffer | string> {
  if (idleTimer) clearTimeout(idleTimer);
  shared ??= openRenderer();
  const mine = shared;
  let renderer: FigureRenderer;
  try {
    renderer = await mine;
  } catch (err) {
    if (shared === mine) shared = undefined; // retry on the next call (e.g. after installing Chromium)
    throw err;
  }
  try {
    return await renderer.render(fig, opts);
  } finally {
    if (shared === mine) idleTimer = setTimeout(() => void closeSharedRenderer(), IDLE_MS);
  }
}

/** Closes the shared browser now (tests and scripts that want to exit at once). */
export async function closeSharedRenderer(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const r = shared;
  shared = undefined;
  if (r) await (await r.catch(() => undefined))?.close();
}

/** Writes a figure to `file` as PNG or SVG (from the extension), atomically (temp file + rename). */
export async function exportFigure(fig: Figure, file: string, opts: Omit<RenderOptions, 'format'> & { renderer?: FigureRenderer } = {}): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.svg') throw new Error(`exportFigure: ${file} must end in .png or .svg`);
  const format = ext === '.png' ? 'png' : 'svg';
  const out = opts.renderer ? await opts.renderer.render(fig, { ...opts, format }) : await renderFigure(fig, { ...opts, format } as RenderOptions);
  writeFileAtomically(file, out);
}

