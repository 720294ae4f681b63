/**
 * Draws the project's plotly figures as SVG in plain Node (no browser), and rasterises them with sharp (librsvg):
 * the PNG fallbacks and PCA GIFs of a machine without Chromium.
 *
 *   const svg = await figureSvg(confusionMatrixFigure(cm, classes));
 *   const png = await svgPng(svg);                      // sharp rasterises; or openRenderer() picks this itself
 *
 * It covers what lib/plots builds, not all of plotly: scatter (lines, markers, text; circle, triangle-up, x, diamond),
 * bar, heatmap (with a colour bar and cell text), table, image traces on subplot grids; linear, log and category
 * axes (ranges as given, else from the data; `autorange: 'reversed'`; a right-side overlaying axis; `scaleanchor`),
 * legends, annotations with arrows, line shapes, titles with <br> and <b>. Chromium's plotly remains the reference
 * look; this one keeps every figure readable where there is none.
 */
import sharp from 'sharp';
import type { Figure, FigureRenderer, Layout, RenderOptions, Trace } from './figures';

type Num = number;
interface Box { x: Num; y: Num; w: Num; h: Num }
interface Axis {
  id: string;
  type: 'linear' | 'log' | 'category';
  range: [Num, Num];
  categories: string[];
  reversed: boolean;
  visible: boolean;
  side: 'left' | 'right' | 'bottom' | 'top';
  title: string;
  tickangle: number;
  tickfont: Num;
  dtick?: Num;
  tickformat?: string;
  /** Pixel span along the axis (set once the plot boxes are known). */
  px: [Num, Num];
}

const FONT = "font-family=\"'DejaVu Sans', 'Liberation Sans', Arial, sans-serif\"";
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: Num): string => (Math.round(v * 100) / 100).toString();
const get = <T>(o: unknown, key: string): T | undefined => (o && typeof o === 'object' ? ((o as Record<string, unknown>)[key] as T) : undefined);
const textOf = (t: unknown): string => (typeof t === 'string' ? t : (get<string>(t, 'text') ?? ''));

/** Plain-text lines of a plotly label (`<br>` splits lines; other tags are dropped, `<b>` makes the line bold). */
function lines(label: string): { text: string; bold: boolean }[] {
  return label.split(/<br\s*\/?>/i).map((l) => ({ text: l.replace(/<[^>]+>/g, ''), bold: /<b>/i.test(l) }));
}

/** An SVG text element for a (multi-line) plotly label; `anchor` start|middle|end, `baseline` of the first line. */
function text(label: string, x: Num, y: Num, o: { size?: Num; anchor?: string; color?: string; rotate?: Num; bold?: boolean; valign?: 'top' | 'middle' | 'bottom' } = {}): string {
  const size = o.size ?? 12;
  const ls = lines(label);
  const lh = size * 1.25;
  const shift = o.valign === 'middle' ? -((ls.length - 1) * lh) / 2 + size * 0.35 : o.valign === 'top' ? size : o.valign === 'bottom' ? -(ls.length - 1) * lh : 0;
  const rot = o.rotate ? ` transform="rotate(${num(o.rotate)} ${num(x)} ${num(y)})"` : '';
  const spans = ls.map((l, i) => `<tspan x="${num(x)}" y="${num(y + shift + i * lh)}"${l.bold || o.bold ? ' font-weight="bold"' : ''}>${esc(l.text)}</tspan>`).join('');
  return `<text ${FONT} font-size="${size}" fill="${o.color ?? '#444'}" text-anchor="${o.anchor ?? 'middle'}"${rot}>${spans}</text>`;
}

/** Approximate rendered width of a label (DejaVu Sans averages ~0.6 em per character). */
const textWidth = (label: string, size = 12): Num => Math.max(...lines(label).map((l) => l.text.length)) * size * 0.6;

/** Round tick values covering [lo, hi] at a 1-2-5 step. */
function niceTicks(lo: Num, hi: Num, target = 6, dtick?: Num): Num[] {
  const a = Math.min(lo, hi);
  const b = Math.max(lo, hi);
  let step = dtick;
  if (!step) {
    const raw = (b - a || 1) / target;
    const p = 10 ** Math.floor(Math.log10(raw));
    step = [1, 2, 5, 10].reduce((best, m) => (Math.abs(Math.log((m * p) / raw)) < Math.abs(Math.log((best * p) / raw)) ? m : best), 1) * p;
  }
  const out: Num[] = [];
  for (let v = Math.ceil(a / step - 1e-9) * step; v <= b + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function tickLabel(v: Num, ax: Axis, step: Num): string {
  if (ax.type === 'log') return `1e${Math.round(v)}`;
  if (ax.tickformat === 'd') return String(Math.round(v));
  const m = /^\.(\d)f$/.exec(ax.tickformat ?? '');
  if (m) return v.toFixed(Number(m[1]));
  // As many decimals as the step needs (0.2 → 1, 0.05 → 2), so neighbouring ticks never print alike.
  let decimals = 0;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(1) : v.toFixed(decimals);
}

/** The named colour scales the figures use, as stops from 0 to 1. */
const SCALES: Record<string, string[]> = {
  Blues: ['#08306b', '#08519c', '#2171b5', '#4292c6', '#6baed6', '#9ecae1', '#c6dbef', '#deebf7', '#f7fbff'],
  Jet: ['#000083', '#003caa', '#05ffff', '#ffff00', '#fa0000', '#800000'],
  Viridis: ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'],
};

function hex(c: string): [Num, Num, Num] {
  const h = c.replace('#', '');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [Num, Num, Num];
}

/** The colour at `t` ∈ [0, 1] of a named scale (plotly's Blues runs dark → light; reversescale flips it). */
function scaleColor(name: string, t: Num, reverse: boolean): string {
  const stops = SCALES[name] ?? SCALES.Viridis!;
  const u = Math.max(0, Math.min(1, reverse ? 1 - t : t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const [a, b] = [hex(stops[i]!), hex(stops[i + 1]!)];
  const f = u - i;
  return `rgb(${a.map((v, k) => Math.round(v + (b[k]! - v) * f)).join(',')})`;
}

function markerPath(symbol: string, x: Num, y: Num, size: Num): string {
  const r = size / 2;
  switch (symbol) {
    case 'triangle-up':
      return `M${num(x)},${num(y - r * 1.15)} L${num(x + r)},${num(y + r * 0.6)} L${num(x - r)},${num(y + r * 0.6)} Z`;
    case 'diamond':
      return `M${num(x)},${num(y - r)} L${num(x + r)},${num(y)} L${num(x)},${num(y + r)} L${num(x - r)},${num(y)} Z`;
    case 'x': {
      const k = r * 0.35;
      return `M${num(x - r)},${num(y - r + k)} L${num(x - r + k)},${num(y - r)} L${num(x)},${num(y - k)} L${num(x + r - k)},${num(y - r)} L${num(x + r)},${num(y - r + k)} L${num(x + k)},${num(y)} L${num(x + r)},${num(y + r - k)} L${num(x + r - k)},${num(y + r)} L${num(x)},${num(y + k)} L${num(x - r + k)},${num(y + r)} L${num(x - r)},${num(y + r - k)} L${num(x - k)},${num(y)} Z`;
    }
    case 'square':
      return `M${num(x - r)},${num(y - r)} h${num(size)} v${num(size)} h${num(-size)} Z`;
    default:
      return `M${num(x - r)},${num(y)} a${num(r)},${num(r)} 0 1,0 ${num(size)},0 a${num(r)},${num(r)} 0 1,0 ${num(-size)},0`;
  }
}

const axisKey = (id: string): string => (id.length > 1 ? `${id[0]}axis${id.slice(1)}` : `${id}axis`);
const traceAxes = (t: Trace): [string, string] => [(t.xaxis as string) ?? 'x', (t.yaxis as string) ?? 'y'];

/** Pixel size of a data-URI image (read from its header with sharp). */
async function imageSize(src: string): Promise<{ width: Num; height: Num }> {
  const m = /^data:[^;]+;base64,(.*)$/.exec(src);
  if (!m) return { width: 1, height: 1 };
  const meta = await sharp(Buffer.from(m[1]!, 'base64')).metadata();
  return { width: meta.width ?? 1, height: meta.height ?? 1 };
}

/** The figure as an SVG document of `width` × `height` (default: the layout's, else 800 × 600). */
export async function figureSvg(fig: Figure, opts: { width?: Num; height?: Num } = {}): Promise<string> {
  const L = fig.layout;
  const W = opts.width ?? (L.width as Num | undefined) ?? 800;
  const H = opts.height ?? (L.height as Num | undefined) ?? 600;
  const data = fig.data.filter((t) => t.visible !== false);
  const out: string[] = [];
  const tables = data.filter((t) => t.type === 'table');
  const margin = { l: 80, r: 80, t: 100, b: 80, ...((L.margin as Record<string, Num>) ?? {}) };

  // Legend entries: named traces with showlegend, one per legend group.
  const legendItems: Trace[] = [];
  const showLegend = L.showlegend !== false && data.filter((t) => t.type === 'scatter' || t.type === 'bar').length > 1;
  if (showLegend) {
    const groups = new Set<string>();
    for (const t of data) {
      if (!t.name || t.showlegend === false || t.type === 'table' || t.type === 'image' || t.type === 'heatmap') continue;
      const g = (t.legendgroup as string) ?? t.name;
      if (groups.has(g)) continue;
      groups.add(g);
      legendItems.push(t);
    }
  }
  const legend = (L.legend as Layout) ?? {};
  const horizontal = legend.orientation === 'h';
  const legendW = legendItems.length ? Math.max(...legendItems.map((t) => textWidth(t.name!, 11))) + 44 : 0;
  if (legendItems.length && !horizontal) margin.r = Math.max(margin.r, legendW + 20);
  const heat = data.find((t) => t.type === 'heatmap' && t.showscale !== false);
  if (heat) margin.r = Math.max(margin.r, 90);

  // Axes: every id a trace or the layout names.
  const ids = new Set<string>();
  for (const t of data) if (t.type !== 'table') traceAxes(t).forEach((a) => ids.add(a));
  for (const k of Object.keys(L)) {
    const m = /^([xy])axis(\d*)$/.exec(k);
    if (m && (data.some((t) => t.type !== 'table') || get(L[k], 'overlaying'))) ids.add(`${m[1]}${m[2]}`);
  }
  const images = new Map<Trace, { width: Num; height: Num }>();
  for (const t of data) if (t.type === 'image') images.set(t, await imageSize(t.source as string));
  const axes = new Map<string, Axis>();
  for (const id of ids) {
    const spec = (L[axisKey(id)] as Layout) ?? {};
    const isX = id[0] === 'x';
    const mine = data.filter((t) => t.type !== 'table' && traceAxes(t)[isX ? 0 : 1] === id);
    const values = mine.flatMap((t) => {
      if (t.type === 'image') {
        const s = images.get(t)!;
        return [-0.5, (isX ? s.width : s.height) - 0.5];
      }
      if (t.type === 'heatmap' && !Array.isArray(t[isX ? 'x' : 'y'])) {
        const z = t.z as Num[][];
        const n = isX ? (z[0]?.length ?? 0) : z.length;
        const o = (t[isX ? 'x0' : 'y0'] as Num) ?? 0;
        const d = (t[isX ? 'dx' : 'dy'] as Num) ?? 1;
        return [o - d / 2, o + (n - 0.5) * d];
      }
      return ((t[isX ? 'x' : 'y'] as unknown[]) ?? []).filter((v) => v !== null && v !== undefined);
    });
    const category = spec.type === 'category' || values.some((v) => typeof v === 'string');
    const type: Axis['type'] = category ? 'category' : spec.type === 'log' ? 'log' : 'linear';
    const categories = category ? [...new Set(values.map(String))] : [];
    let range: [Num, Num];
    if (Array.isArray(spec.range)) range = [spec.range[0] as Num, spec.range[1] as Num];
    else if (category) range = [-0.5, categories.length - 0.5];
    else {
      const nums = (values as Num[]).filter((v) => Number.isFinite(v) && (type !== 'log' || v > 0)).map((v) => (type === 'log' ? Math.log10(v) : v));
      if (mine.some((t) => t.type === 'bar') && !isX) nums.push(0);
      let lo = nums.length ? Math.min(...nums) : 0;
      let hi = nums.length ? Math.max(...nums) : 1;
      if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
      const exact = mine.every((t) => t.type === 'image' || t.type === 'heatmap');
      const pad = exact ? 0 : (hi - lo) * (mine.some((t) => t.type === 'bar') && !isX ? 0.1 : 0.05);
      range = [lo - (mine.some((t) => t.type === 'bar') && !isX && lo === 0 ? 0 : pad), hi + pad];
    }
    axes.set(id, {
      id, type, range, categories,
      reversed: spec.autorange === 'reversed',
      visible: spec.visible !== false,
      side: (spec.side as Axis['side']) ?? (isX ? 'bottom' : 'left'),
      title: textOf(spec.title),
      tickangle: (spec.tickangle as Num) ?? 0,
      tickfont: (get<Num>(spec.tickfont, 'size')) ?? 12,
      dtick: typeof spec.dtick === 'number' ? spec.dtick : undefined,
      tickformat: spec.tickformat as string | undefined,
      px: [0, 0],
    });
  }

  // Plot boxes: each axis's domain inside the margins; overlaying axes share their base axis's span.
  const plot: Box = { x: margin.l, y: margin.t, w: Math.max(10, W - margin.l - margin.r), h: Math.max(10, H - margin.t - margin.b) };
  for (const ax of axes.values()) {
    const spec = (L[axisKey(ax.id)] as Layout) ?? {};
    const base = (spec.overlaying as string) ?? ax.id;
    const dom = ((L[axisKey(base)] as Layout)?.domain as [Num, Num]) ?? (spec.domain as [Num, Num]) ?? [0, 1];
    ax.px = ax.id[0] === 'x' ? [plot.x + dom[0] * plot.w, plot.x + dom[1] * plot.w] : [plot.y + (1 - dom[1]) * plot.h, plot.y + (1 - dom[0]) * plot.h];
  }
  // scaleanchor: one data unit is as many pixels on y as on x (images keep their aspect); the box shrinks, centred.
  for (const ax of axes.values()) {
    const anchor = get<string>(L[axisKey(ax.id)], 'scaleanchor');
    const other = anchor ? axes.get(anchor) : undefined;
    if (!other) continue;
    const per = (a: Axis) => Math.abs(a.px[1] - a.px[0]) / Math.abs(a.range[1] - a.range[0]);
    const k = Math.min(per(ax), per(other));
    for (const a of [ax, other]) {
      const span = k * Math.abs(a.range[1] - a.range[0]);
      const mid = (a.px[0] + a.px[1]) / 2;
      a.px = [mid - span / 2, mid + span / 2];
    }
  }
  const toPx = (ax: Axis, v: unknown): Num => {
    const val = ax.type === 'category' ? ax.categories.indexOf(String(v)) : ax.type === 'log' ? Math.log10(v as Num) : (v as Num);
    let t = (val - ax.range[0]) / (ax.range[1] - ax.range[0]);
    if (ax.reversed) t = 1 - t;
    return ax.id[0] === 'x' ? ax.px[0] + t * (ax.px[1] - ax.px[0]) : ax.px[1] - t * (ax.px[1] - ax.px[0]);
  };

  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  // Grid and axes under the data.
  for (const ax of axes.values()) {
    if (!ax.visible) continue;
    const isX = ax.id[0] === 'x';
    const spec = (L[axisKey(ax.id)] as Layout) ?? {};
    const other = axes.get(isX ? `y${ax.id.slice(1)}` : `x${ax.id.slice(1)}`) ?? [...axes.values()].find((a) => a.id[0] !== ax.id[0])!;
    const cross = isX ? (ax.side === 'top' ? other.px[0] : other.px[1]) : ax.side === 'right' ? other.px[1] : other.px[0];
    const ticks = ax.type === 'category' ? ax.categories.map((_, i) => i) : niceTicks(ax.range[0], ax.range[1], isX ? 7 : 6, ax.type === 'log' ? 1 : ax.dtick);
    const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
    const grid = spec.showgrid !== false && !spec.overlaying && ax.type !== 'category';
    for (const v of ticks) {
      const p = toPx(ax, ax.type === 'category' ? ax.categories[v] : ax.type === 'log' ? 10 ** v : v);
      const label = ax.type === 'category' ? ax.categories[v]! : tickLabel(v, ax, step);
      if (isX) {
        if (grid) out.push(`<line x1="${num(p)}" y1="${num(other.px[0])}" x2="${num(p)}" y2="${num(other.px[1])}" stroke="#eee"/>`);
        const y = cross + 6;
        out.push(ax.tickangle ? text(label, p, y + 4, { size: ax.tickfont, anchor: ax.tickangle < 0 ? 'end' : 'start', rotate: ax.tickangle, valign: 'middle' }) : text(label, p, y, { size: ax.tickfont, valign: 'top' }));
      } else {
        if (grid) out.push(`<line x1="${num(other.px[0])}" y1="${num(p)}" x2="${num(other.px[1])}" y2="${num(p)}" stroke="#eee"/>`);
        out.push(text(label, ax.side === 'right' ? cross + 6 : cross - 6, p, { size: ax.tickfont, anchor: ax.side === 'right' ? 'start' : 'end', valign: 'middle' }));
      }
    }
    out.push(isX ? `<line x1="${num(ax.px[0])}" y1="${num(cross)}" x2="${num(ax.px[1])}" y2="${num(cross)}" stroke="#444"/>` : `<line x1="${num(cross)}" y1="${num(ax.px[0])}" x2="${num(cross)}" y2="${num(ax.px[1])}" stroke="#444"/>`);
    if (ax.title) {
      const longest = ax.type === 'category' ? Math.max(...ax.categories.map((c) => textWidth(c, ax.tickfont))) : Math.max(...ticks.map((v) => textWidth(tickLabel(v, ax, step), ax.tickfont)));
      if (isX) {
        const below = ax.tickangle ? Math.abs(Math.sin((ax.tickangle * Math.PI) / 180)) * longest + 14 : ax.tickfont + 12;
        out.push(text(ax.title, (ax.px[0] + ax.px[1]) / 2, Math.min(H - 6, cross + below + 16), { size: 14 }));
      } else {
        const x = ax.side === 'right' ? Math.min(W - 8, cross + longest + 22) : Math.max(14, cross - longest - 16);
        out.push(text(ax.title, x, (ax.px[0] + ax.px[1]) / 2, { size: 14, rotate: ax.side === 'right' ? 90 : -90, valign: 'middle' }));
      }
    }
  }

  for (const t of data) {
    if (t.type === 'table') continue;
    const [xa, ya] = traceAxes(t).map((id) => axes.get(id)!);
    if (!xa || !ya) continue;
    if (t.type === 'image') {
      const s = images.get(t)!;
      const x0 = toPx(xa, -0.5);
      const x1 = toPx(xa, s.width - 0.5);
      const y0 = toPx(ya, -0.5);
      const y1 = toPx(ya, s.height - 0.5);
      out.push(`<image x="${num(Math.min(x0, x1))}" y="${num(Math.min(y0, y1))}" width="${num(Math.abs(x1 - x0))}" height="${num(Math.abs(y1 - y0))}" preserveAspectRatio="none" href="${t.source as string}"/>`);
    } else if (t.type === 'heatmap') {
      out.push(heatmapSvg(t, xa, ya, toPx));
      if (t.showscale !== false) out.push(colorBar(t, { x: plot.x + plot.w + 20, y: plot.y, w: 16, h: plot.h }));
    } else if (t.type === 'bar') {
      const xs = (t.x as unknown[]) ?? [];
      const ys = (t.y as Num[]) ?? [];
      const colors = get<string | string[]>(t.marker, 'color');
      const band = Math.abs(toPx(xa, xs[1] ?? xs[0]) - toPx(xa, xs[0])) || (xa.px[1] - xa.px[0]) / Math.max(1, xs.length);
      xs.forEach((x, i) => {
        const cx = toPx(xa, x);
        const top = toPx(ya, ys[i]!);
        const base = toPx(ya, Math.max(ya.range[0], 0));
        const fill = Array.isArray(colors) ? colors[i] : (colors ?? '#1f77b4');
        out.push(`<rect x="${num(cx - band * 0.4)}" y="${num(Math.min(top, base))}" width="${num(band * 0.8)}" height="${num(Math.abs(base - top))}" fill="${fill}"/>`);
        const label = (t.text as string[] | undefined)?.[i];
        if (label) out.push(text(label, cx, Math.min(top, base) - 5, { size: 11 }));
      });
    } else if (t.type === 'scatter') {
      out.push(scatterSvg(t, xa, ya, toPx));
    }
  }

  for (const t of tables) out.push(tableSvg(t, { x: margin.l, y: margin.t, w: W - margin.l - margin.r, h: H - margin.t - margin.b }));

  // Shapes (lines in data or paper coordinates).
  for (const s of (L.shapes as Layout[]) ?? []) {
    if (s.type !== 'line') continue;
    const xa = axes.get((s.xref as string) ?? 'x');
    const ya = axes.get((s.yref as string) ?? 'y');
    const px = (v: Num, ax: Axis | undefined, ref: unknown, isX: boolean) => (ref === 'paper' || !ax ? (isX ? plot.x + v * plot.w : plot.y + (1 - v) * plot.h) : toPx(ax, v));
    const dash = get<string>(s.line, 'dash') === 'dash' ? ' stroke-dasharray="6,4"' : '';
    out.push(`<line x1="${num(px(s.x0 as Num, xa, s.xref, true))}" y1="${num(px(s.y0 as Num, ya, s.yref, false))}" x2="${num(px(s.x1 as Num, xa, s.xref, true))}" y2="${num(px(s.y1 as Num, ya, s.yref, false))}" stroke="${get<string>(s.line, 'color') ?? '#444'}"${dash}/>`);
  }

  // Annotations: paper or data coordinates; an arrow points from the text to its (x, y).
  for (const a of (L.annotations as Layout[]) ?? []) {
    const xa = axes.get((a.xref as string) ?? 'x');
    const ya = axes.get((a.yref as string) ?? 'y');
    const val = (v: Num, ax: Axis | undefined) => (ax?.type === 'log' ? 10 ** v : v); // plotly: log-axis annotations are in log10 units
    const x = a.xref === 'paper' || !xa ? plot.x + (a.x as Num) * plot.w : toPx(xa, val(a.x as Num, xa));
    const y = a.yref === 'paper' || !ya ? plot.y + (1 - (a.y as Num)) * plot.h : toPx(ya, val(a.y as Num, ya));
    const size = get<Num>(a.font, 'size') ?? 12;
    const label = String(a.text ?? '');
    if (a.showarrow) {
      const tx = x + ((a.ax as Num) ?? -10);
      const ty = y + ((a.ay as Num) ?? -30);
      out.push(`<line x1="${num(tx)}" y1="${num(ty)}" x2="${num(x)}" y2="${num(y)}" stroke="#444" marker-end="url(#arrow)"/>`);
      out.push(text(label, tx, ty - 4, { size }));
    } else {
      const anchor = a.xanchor === 'left' ? 'start' : a.xanchor === 'right' ? 'end' : 'middle';
      out.push(text(label, x, y, { size, anchor, valign: a.yanchor === 'bottom' ? 'bottom' : a.yanchor === 'top' ? 'top' : 'middle' }));
    }
  }

  if (legendItems.length) out.push(legendSvg(legendItems, horizontal ? { x: plot.x, y: Math.min(H - 44, plot.y + plot.h + 50 + ((L.xaxis as Layout)?.tickangle ? 40 : 0)), horizontal, maxX: W } : { x: plot.x + plot.w + 20 + (heat ? 70 : 0), y: plot.y, horizontal, maxX: W }));

  const title = textOf(L.title);
  if (title) out.push(text(title, W / 2, Math.max(24, Math.min(margin.t / 2, 40)), { size: 17, color: '#333', valign: 'middle' }));

  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 Z" fill="#444"/></marker></defs>` +
    `${out.join('\n')}</svg>`;
}

function scatterSvg(t: Trace, xa: Axis, ya: Axis, toPx: (ax: Axis, v: unknown) => Num): string {
  const mode = (t.mode as string) ?? 'markers';
  const xs = (t.x as unknown[]) ?? [];
  const ys = (t.y as unknown[]) ?? [];
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter(([x, y]) => x !== null && y !== null && x !== undefined && y !== undefined && (xa.type !== 'log' || (x as Num) > 0));
  const px = pts.map(([x, y]) => [toPx(xa, x), toPx(ya, y)] as const);
  const out: string[] = [];
  const lineColor = get<string>(t.line, 'color') ?? '#1f77b4';
  if (mode.includes('lines') && px.length > 1) {
    const dash = get<string>(t.line, 'dash') === 'dash' ? ' stroke-dasharray="6,4"' : '';
    out.push(`<polyline fill="none" stroke="${lineColor}" stroke-width="${get<Num>(t.line, 'width') ?? 2}"${dash} points="${px.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}"/>`);
  }
  if (mode.includes('markers')) {
    const m = (t.marker as Layout) ?? {};
    const size = (m.size as Num) ?? 6;
    const symbol = (m.symbol as string) ?? 'circle';
    const colors = m.color;
    const opacity = (m.opacity as Num) ?? 1;
    const stroke = get<string>(m.line, 'color');
    const strokeW = get<Num>(m.line, 'width') ?? 0;
    px.forEach(([x, y], i) => {
      const fill = Array.isArray(colors) ? (colors[i] as string) : ((colors as string) ?? lineColor);
      out.push(`<path d="${markerPath(symbol, x, y, size)}" fill="${fill}"${opacity < 1 ? ` fill-opacity="${opacity}"` : ''}${stroke && strokeW ? ` stroke="${stroke}" stroke-width="${strokeW}"` : ''}/>`);
    });
  }
  if (mode.includes('text')) {
    const labels = (t.text as unknown[]) ?? [];
    const size = get<Num>(t.textfont, 'size') ?? 12;
    const above = mode.includes('markers') && String(t.textposition ?? 'top center').startsWith('top');
    const offset = above ? -(((get<Num>(t.marker, 'size') ?? 6) / 2) + 4) : 0;
    px.forEach(([x, y], i) => out.push(text(String(labels[i] ?? '').replace(/\+/g, ' '), x, y + offset, { size, valign: above ? 'bottom' : 'middle' })));
  }
  return out.join('\n');
}

function heatmapSvg(t: Trace, xa: Axis, ya: Axis, toPx: (ax: Axis, v: unknown) => Num): string {
  const z = t.z as Num[][];
  const flat = z.flat().filter(Number.isFinite);
  const lo = Math.min(...flat);
  const hi = Math.max(...flat);
  const name = (t.colorscale as string) ?? 'Viridis';
  const reverse = t.reversescale === true;
  const gap = (t.xgap as Num) ?? 0;
  const opacity = (t.opacity as Num) ?? 1;
  const texts = t.text as string[][] | undefined;
  const size = get<Num>(t.textfont, 'size') ?? 12;
  const xs = t.x as unknown[] | undefined;
  const ys = t.y as unknown[] | undefined;
  const at = (ax: Axis, list: unknown[] | undefined, i: number, o: Num, d: Num): [Num, Num] => {
    if (list) {
      const c = toPx(ax, list[i]);
      const half = Math.abs(toPx(ax, list[1] ?? list[0]) - toPx(ax, list[0])) / 2 || Math.abs(ax.px[1] - ax.px[0]) / 2;
      return [c - half, c + half];
    }
    const a = toPx(ax, o + (i - 0.5) * d);
    const b = toPx(ax, o + (i + 0.5) * d);
    return [Math.min(a, b), Math.max(a, b)];
  };
  const out: string[] = [];
  z.forEach((row, r) => row.forEach((v, c) => {
    const [x0, x1] = at(xa, xs, c, (t.x0 as Num) ?? 0, (t.dx as Num) ?? 1);
    const [y0, y1] = at(ya, ys, r, (t.y0 as Num) ?? 0, (t.dy as Num) ?? 1);
    const f = hi > lo ? (v - lo) / (hi - lo) : 0;
    const fill = scaleColor(name, f, reverse);
    out.push(`<rect x="${num(x0 + gap / 2)}" y="${num(y0 + gap / 2)}" width="${num(Math.max(0, x1 - x0 - gap))}" height="${num(Math.max(0, y1 - y0 - gap))}" fill="${fill}"${opacity < 1 ? ` fill-opacity="${opacity}"` : ''}/>`);
    const label = texts?.[r]?.[c];
    if (label) {
      const dark = reverse ? f > 0.55 : f < 0.45;
      out.push(text(label, (x0 + x1) / 2, (y0 + y1) / 2, { size, color: dark && name === 'Blues' ? '#fff' : '#222', valign: 'middle' }));
    }
  }));
  return out.join('\n');
}

function colorBar(t: Trace, box: Box): string {
  const z = (t.z as Num[][]).flat().filter(Number.isFinite);
  const lo = Math.min(...z);
  const hi = Math.max(...z);
  const name = (t.colorscale as string) ?? 'Viridis';
  const stops = Array.from({ length: 11 }, (_, i) => `<stop offset="${i / 10}" stop-color="${scaleColor(name, 1 - i / 10, t.reversescale === true)}"/>`).join('');
  const ticks = niceTicks(lo, hi, 5, get<Num>(t.colorbar, 'dtick'));
  const fmt = get<string>(t.colorbar, 'tickformat');
  const labels = ticks.map((v) => {
    const y = box.y + box.h - ((v - lo) / (hi - lo || 1)) * box.h;
    return text(fmt === 'd' ? String(Math.round(v)) : String(Math.round(v * 100) / 100), box.x + box.w + 4, y, { size: 10, anchor: 'start', valign: 'middle' });
  });
  const title = textOf(get(t.colorbar, 'title'));
  return `<defs><linearGradient id="cb" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>` +
    `<rect x="${num(box.x)}" y="${num(box.y)}" width="${box.w}" height="${num(box.h)}" fill="url(#cb)" stroke="#ccc"/>${labels.join('')}` +
    (title ? text(title, box.x, box.y - 8, { size: 11, anchor: 'start' }) : '');
}

function legendSvg(items: Trace[], at: { x: Num; y: Num; horizontal: boolean; maxX: Num }): string {
  const out: string[] = [];
  let x = at.x;
  let y = at.y + 8;
  for (const t of items) {
    const mode = (t.mode as string) ?? (t.type === 'bar' ? 'bar' : 'markers');
    const colorRaw = get<unknown>(t.marker, 'color');
    const color = typeof colorRaw === 'string' ? colorRaw : Array.isArray(colorRaw) ? '#666' : (get<string>(t.line, 'color') ?? '#1f77b4');
    if (mode.includes('lines')) out.push(`<line x1="${num(x)}" y1="${num(y)}" x2="${num(x + 28)}" y2="${num(y)}" stroke="${get<string>(t.line, 'color') ?? color}" stroke-width="2"/>`);
    if (mode.includes('markers') || mode === 'bar') out.push(`<path d="${markerPath((get<string>(t.marker, 'symbol')) ?? 'circle', x + 14, y, Math.min(10, get<Num>(t.marker, 'size') ?? 8))}" fill="${color}"/>`);
    out.push(text(t.name!, x + 36, y, { size: 11, anchor: 'start', valign: 'middle' }));
    if (!at.horizontal) y += 20;
    else {
      x += textWidth(t.name!, 11) + 60;
      const next = items[items.indexOf(t) + 1];
      // Wrap to a new row when the next entry would run off the figure.
      if (next && x + textWidth(next.name!, 11) + 40 > at.maxX) {
        x = at.x;
        y += 20;
      }
    }
  }
  return out.join('\n');
}

function tableSvg(t: Trace, box: Box): string {
  const header = ((get<unknown[]>(t.header, 'values')) ?? []).map(String);
  const columns = ((get<unknown[][]>(t.cells, 'values')) ?? []).map((c) => c.map((v) => String(v ?? '')));
  const weights = (t.columnwidth as Num[] | undefined) ?? header.map(() => 1);
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  const widths = weights.map((w) => (box.w * w) / total);
  const size = 12;
  const wrap = (s: string, w: Num): string[] => {
    const max = Math.max(4, Math.floor((w - 12) / (size * 0.6)));
    const out: string[] = [];
    for (const para of s.split(/<br\s*\/?>/i)) {
      let line = '';
      for (const word of para.replace(/<[^>]+>/g, '').split(' ')) {
        if (line && (line + ' ' + word).length > max) {
          out.push(line);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      out.push(line);
    }
    return out;
  };
  const out: string[] = [];
  let y = box.y;
  const row = (cells: string[], fill: string, bold: boolean) => {
    const wrapped = cells.map((c, j) => wrap(c, widths[j]!));
    const h = 10 + 16 * Math.max(1, ...wrapped.map((w) => w.length));
    let x = box.x;
    wrapped.forEach((ls, j) => {
      out.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(widths[j]!)}" height="${h}" fill="${fill}" stroke="#c8d4e3"/>`);
      out.push(text(ls.map((l) => (bold ? `<b>${l}</b>` : l)).join('<br>'), x + 6, y + 17, { size, anchor: 'start' }));
      x += widths[j]!;
    });
    y += h;
  };
  row(header, get<string>(get(t.header, 'fill'), 'color') ?? '#dbe4f0', true);
  const n = Math.max(0, ...columns.map((c) => c.length));
  for (let i = 0; i < n; i++) row(columns.map((c) => c[i] ?? ''), '#fff', false);
  return out.join('\n');
}

/** Rasterises an SVG document with sharp (librsvg) to PNG; `scale` multiplies its pixel size. */
export async function svgPng(svg: string, scale = 1): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

/** A FigureRenderer that needs no browser: figureSvg, rasterised by sharp for PNG. */
export function svgRenderer(): FigureRenderer {
  const render = async (fig: Figure, o: RenderOptions = {}): Promise<Buffer | string> => {
    const svg = await figureSvg(fig, { width: o.width, height: o.height });
    return (o.format ?? 'png') === 'svg' ? svg : svgPng(svg, o.scale ?? 1);
  };
  return { render: render as FigureRenderer['render'], close: async () => undefined };
}
