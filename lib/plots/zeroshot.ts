/**
 * Figures of the zero-shot section: the seen–unseen accuracy curve over γ with the calibrated point, the
 * per-unseen-class table, the GZSL table (uncalibrated, calibrated, CSLS) and the label-source comparison.
 *
 *   show(seenUnseenFigure(summary));   show(labelSourcesFigure(rows));
 */
import type { LabelSourceRow, ZeroShotSummary } from '../zeroshot';
import { type Figure, tableFigure } from './figures';

const pct = (v: number | undefined) => (v === undefined ? '' : `${(Math.round(v * 1000) / 10).toFixed(1)}%`);

/** Chao et al.'s seen–unseen curve (s on x, u on y) over every γ, with the uncalibrated and the calibrated point. */
export function seenUnseenFigure(z: ZeroShotSummary, opts: { title?: string } = {}): Figure {
  const pts = [...z.gzsl.curve].sort((a, b) => a.s - b.s || b.u - a.u);
  const c = z.gzsl.calibrated;
  return {
    data: [
      { type: 'scatter', mode: 'lines+markers', name: 'all γ', x: pts.map((p) => p.s), y: pts.map((p) => p.u), line: { color: '#4a78b5' }, marker: { size: 5 } },
      { type: 'scatter', mode: 'markers', name: 'γ = 0 (uncalibrated)', x: [z.gzsl.s], y: [z.gzsl.u], marker: { size: 12, color: '#c0392b', symbol: 'x' } },
      { type: 'scatter', mode: 'markers', name: `γ = ${c.gamma.toFixed(3)} (calibrated)`, x: [c.s], y: [c.u], marker: { size: 12, color: '#27ae60', symbol: 'diamond' } },
    ],
    layout: {
      title: { text: opts.title ?? `Seen–unseen accuracy over γ (AUSUC ${z.gzsl.ausuc.toFixed(3)})` },
      xaxis: { title: { text: 'seen accuracy s' }, range: [-0.02, 1.02] },
      yaxis: { title: { text: 'unseen accuracy u' }, range: [-0.02, 1.02] },
      legend: { orientation: 'h', y: -0.2 },
      width: 560, height: 520, margin: { t: 60, l: 70, r: 20, b: 110 },
    },
  };
}

/** Top-1 of each unseen class (ZSL: among the unseen labels), worst first, with its image count. */
export function perUnseenClassFigure(z: ZeroShotSummary, opts: { title?: string } = {}): Figure {
  const rows = Object.entries(z.zsl.perClass).sort((a, b) => a[1].top1 - b[1].top1 || a[0].localeCompare(b[0]));
  return tableFigure(['unseen class', 'top-1', 'images'], rows.map(([c, v]) => [c.replace(/\+/g, ' '), pct(v.top1), v.n]), {
    title: opts.title ?? `Zero-shot top-1 per unseen class<br>mean ${pct(z.zsl.perClassTop1)}, chance ${pct(z.zsl.chance)}`,
  });
}

/** GZSL u / s / H without and with calibration, plain and with CSLS hubness reduction. */
export function gzslFigure(z: ZeroShotSummary, opts: { title?: string } = {}): Figure {
  const g = z.gzsl;
  const c = z.csls;
  return tableFigure(['nearest label', 'u', 's', 'H', 'γ', 'AUSUC'], [
    ['cosine, uncalibrated', pct(g.u), pct(g.s), pct(g.H), '0', g.ausuc.toFixed(3)],
    ['cosine, calibrated', pct(g.calibrated.u), pct(g.calibrated.s), pct(g.calibrated.H), g.calibrated.gamma.toFixed(3), ''],
    [`CSLS (k = ${c.k}), uncalibrated`, pct(c.u), pct(c.s), pct(c.H), '0', c.ausuc.toFixed(3)],
    [`CSLS (k = ${c.k}), calibrated`, pct(c.calibrated.u), pct(c.calibrated.s), pct(c.calibrated.H), c.calibrated.gamma.toFixed(3), ''],
  ], { title: opts.title ?? `GZSL: ${g.nSeen} seen + ${g.nUnseen} unseen images (${z.split} split)` });
}

/** The label-source comparison: seen top-1, ZSL per-class top-1 and GZSL per source, or why it was not measured. */
export function labelSourcesFigure(rows: LabelSourceRow[], opts: { title?: string } = {}): Figure {
  return tableFigure(['label source', 'dim', 'seen top-1', 'ZSL top-1', 'GZSL H', 'calibrated H', 'AUSUC', 'what it is'], rows.map((r) => r.unavailable
    ? [r.source, r.dim ?? '', '–', '–', '–', '–', '–', `${r.description}; not measured: ${r.unavailable}`]
    : [r.source, r.dim ?? '', pct(r.seenTop1), pct(r.zslPerClassTop1), pct(r.H), pct(r.calibratedH), r.ausuc?.toFixed(3) ?? '', r.description]), {
    title: opts.title ?? 'Label sources compared (stage 2a from the same stage-1 weights)',
  });
}
