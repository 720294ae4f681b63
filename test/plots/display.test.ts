import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { figureHtml } from '../../lib/plots/display';
import { confusionMatrixFigure } from '../../lib/plots/figures';
import { CHROMIUM_ARGS, chromiumPath } from '../../lib/plots/render';
import { CM, cmFigure, pcaAnimation } from './fixtures';

/** What a notebook front end does with a trusted text/html output: put it in the page (scripts run in order). */
const page = (body: string) => `<!doctype html><html><body>${body}</body></html>`;

describe('notebook HTML for figures, in real headless Chromium with no network', () => {
  let browser: Browser;
  let png: Buffer;
  beforeAll(async () => {
    // Any PNG will do as the fallback here; render.test.ts checks the rendered ones.
    png = await sharp({ create: { width: 500, height: 400, channels: 3, background: '#88aacc' } }).png().toBuffer();
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  });
  afterAll(async () => { await browser?.close(); });

  it('draws interactive plots from the inlined local plotly bundle: no request leaves the page', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    const requests: string[] = [];
    p.on('request', (req) => requests.push(req.url()));
    // The first output carries the bundle; the second (an animation) only waits for window.Plotly.
    const html = figureHtml(cmFigure(), { png, includeBundle: true }) + figureHtml(pcaAnimation(3), {});
    expect(html).toContain('plotly.js v4');
    expect(html).not.toMatch(/<script[^>]+src=/);
    await p.setContent(page(html));
    await p.waitForFunction('document.querySelectorAll(".devise-plot .main-svg").length >= 2', undefined, { timeout: 30_000 });
    expect(await p.locator('.devise-plot img').count()).toBe(0); // the static fallback was replaced
    const text = await p.locator('.devise-plot').first().innerText();
    for (const n of CM.flat()) expect(text).toContain(String(n));
    expect(await p.locator('.devise-plot').nth(1).locator('.slider-container').count()).toBe(1);
    expect(requests.filter((u) => !/^(data:|about:)/.test(u))).toEqual([]);
    await ctx.close();
  });

  it('shows the static PNG where scripts do not run (untrusted notebook, viewers)', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const p = await ctx.newPage();
    await p.setContent(page(figureHtml(cmFigure(), { png, width: 500, height: 400 })));
    const img = p.locator('.devise-plot img');
    await img.waitFor();
    expect(await img.evaluate((el: { complete: boolean; naturalWidth: number; naturalHeight: number }) => [el.complete, el.naturalWidth, el.naturalHeight])).toEqual([true, 500, 400]);
    await ctx.close();
  });

  it('keeps odd class names from breaking out of the script', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    const fig = confusionMatrixFigure([[1, 2], [3, 4]], ['</script><b id="x">', '<!-- b']);
    await p.setContent(page(figureHtml(fig, { includeBundle: true })));
    await p.waitForSelector('.devise-plot .main-svg', { timeout: 30_000 });
    expect(await p.locator('#x').count()).toBe(0);
    // The names reach plotly as data (which itself renders <b ...> as pseudo-HTML, hence no full match).
    const text = await p.locator('.devise-plot').innerText();
    expect(text).toContain('</script>');
    expect(text).toContain('<!-- b');
    await ctx.close();
  });
});
