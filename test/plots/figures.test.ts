import { describe, expect, it } from 'vitest';
import {
  classColor, confusionMatrixFigure, frameFigures, lossCurvesFigure, lrFinderFigure,
  modelSizeFigure, mostConfusedFigure, pcaAnimationFigure, pcaScatterFigure, tableFigure, zeroShotTableFigure,
  type Trace,
} from '../../lib/plots/figures';
import { camOverlayFigure, dataUri, searchStripFigure, topLossesFigure } from '../../lib/plots/images';

const title = (v: unknown) => (v as { title: { text: string } }).title.text;
const PIXEL = dataUri(Buffer.from('89504e470d0a1a0a', 'hex'), 'image/png');

describe('pcaScatterFigure', () => {
  const classes = ['elephant', 'buffalo', 'cow', 'dolphin'];
  const frame = (name: string, shift: number) => ({
    name,
    points: [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4 + shift]],
    labels: [0, 0, 1, 2, 3],
    classPoints: [[-1, -1], [5, 5], [6, 6 - shift], [7, 7]],
  });

  it('draws one dot trace per class and the class vectors as coloured triangles', () => {
    const fig = pcaScatterFigure(classes, [frame('epoch 1', 0)], { explainedVarianceRatio: [0.412, 0.2] });
    expect(fig.data.map((t) => t.name)).toEqual([...classes, 'class vectors']);
    expect(fig.data[0].x).toEqual([0, 1]);
    expect(fig.data[1].y).toEqual([2]);
    expect((fig.data[3].marker as { color: string }).color).toBe(classColor(3, 4));
    const tri = fig.data[4] as Trace & { marker: { symbol: string; color: string[] }; text: string[] };
    expect(tri.marker.symbol).toBe('triangle-up');
    expect(tri.marker.color).toEqual(classes.map((_, c) => classColor(c, 4)));
    expect(tri.text).toEqual(classes);
    expect(title(fig.layout.xaxis)).toBe('PC1 (41.2%)');
    expect(title(fig.layout.yaxis)).toBe('PC2 (20.0%)');
    expect(fig.frames).toBeUndefined();
  });

  it('makes one animation frame per epoch with a slider, a play button and axes fixed across frames', () => {
    const fig = pcaScatterFigure(classes, [frame('epoch 1', 0), frame('epoch 2', 10), frame('epoch 3', -10)]);
    expect(fig.frames?.map((f) => f.name)).toEqual(['epoch 1', 'epoch 2', 'epoch 3']);
    fig.frames!.forEach((f) => expect(f.data).toHaveLength(5));
    const slider = (fig.layout.sliders as { steps: { label: string }[] }[])[0];
    expect(slider.steps.map((s) => s.label)).toEqual(['epoch 1', 'epoch 2', 'epoch 3']);
    const buttons = (fig.layout.updatemenus as { buttons: { label: string }[] }[])[0].buttons.map((b) => b.label);
    expect(buttons).toEqual(['Play', 'Pause']);
    const yr = (fig.layout.yaxis as { range: number[] }).range;
    // Extremes come from different frames: epoch 3's dolphin dot at y = -6 and its cow triangle at y = 16.
    expect(yr[0]).toBeLessThan(-6);
    expect(yr[1]).toBeGreaterThan(16);
    const singles = frameFigures(fig);
    expect(singles).toHaveLength(3);
    expect(singles[1].layout.sliders).toBeUndefined();
    expect(title(singles[2].layout)).toContain('epoch 3');
    expect(singles[2].layout.yaxis).toEqual(fig.layout.yaxis);
  });

  it('pcaAnimationFigure: per-epoch embeddings into shared axes, class vectors fixed across frames', () => {
    const vecs = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    const labels = [0, 0, 1, 1, 2, 2, 3, 3];
    const epochs = [0.2, 0.5, 0.9].map((a) => labels.map((c, i) => vecs[c].map((v, j) => a * v + (1 - a) * Math.sin(3 * i + j))));
    const fig = pcaAnimationFigure(classes, epochs, labels, vecs, { names: ['2a-1', '2a-2', '2a-3'] });
    expect(fig.frames!.map((f) => f.name)).toEqual(['2a-1', '2a-2', '2a-3']);
    const tri = (f: number) => [fig.frames![f].data[4].x, fig.frames![f].data[4].y];
    expect(tri(0)).toEqual(tri(2));
    expect(fig.frames![0].data[0].x).not.toEqual(fig.frames![2].data[0].x);
    expect(title(fig.layout.xaxis)).toMatch(/^PC1 \(\d+\.\d%\)$/);
    expect(() => pcaAnimationFigure(classes, epochs, labels, vecs.slice(1))).toThrow(/3 class vectors for 4 classes/);
  });

  it('rejects labels that do not match the points or the classes', () => {
    expect(() => pcaScatterFigure(classes, [{ name: 'e', points: [[0, 0]], labels: [] }])).toThrow(/1 points but 0 labels/);
    expect(() => pcaScatterFigure(classes, [{ name: 'e', points: [[0, 0]], labels: [4] }])).toThrow(/label 4/);
  });
});

describe('metric figures', () => {
  it('confusion matrix: heatmap rows = actual, columns = predicted, counts as text', () => {
    const cm = [[5, 1, 0], [2, 7, 1], [0, 0, 9]];
    const fig = confusionMatrixFigure(cm, ['a', 'b', 'c']);
    const t = fig.data[0] as Trace & { z: number[][]; text: string[][] };
    expect(t.type).toBe('heatmap');
    expect(t.z).toEqual(cm);
    expect(t.text).toEqual([['5', '1', ''], ['2', '7', '1'], ['', '', '9']]); // zeros left blank, so the counts stand out
    expect(t.x).toEqual(['a', 'b', 'c']);
    // Sized to the class count with room for the longest label in full.
    const long = Array.from({ length: 40 }, (_, i) => `class number ${i} long+name`);
    const big = confusionMatrixFigure(long.map((_, i) => long.map((_, j) => (i === j ? 3 : 0))), long);
    expect(big.layout.height as number).toBeGreaterThan(40 * 18);
    expect((big.layout.margin as { l: number }).l).toBeGreaterThan('class number 39 long+name'.length * 5);
    expect((big.data[0] as Trace & { colorbar: { dtick: number } }).colorbar.dtick).toBe(1); // integer ticks
    expect(title(fig.layout.xaxis)).toBe('Predicted');
    expect(title(fig.layout.yaxis)).toBe('Actual');
    const norm = confusionMatrixFigure(cm, ['a', 'b', 'c'], { normalize: true }).data[0] as Trace & { z: number[][]; text: string[][] };
    expect(norm.z[1]).toEqual([0.2, 0.7, 0.1]);
    expect(norm.text[1]).toEqual(['2', '7', '1']);
    expect(() => confusionMatrixFigure(cm, ['a', 'b'])).toThrow(/2×2/);
  });

  it('tables: mostConfused and zero-shot results', () => {
    const mc = mostConfusedFigure([{ actual: 'cow', predicted: 'buffalo', count: 4 }, { actual: 'ox', predicted: 'cow', count: 2 }]);
    const t = mc.data[0] as Trace & { header: { values: string[] }; cells: { values: unknown[][] } };
    expect(t.type).toBe('table');
    expect(t.header.values).toEqual(['<b>Actual</b>', '<b>Predicted</b>', '<b>Count</b>']);
    expect(t.cells.values).toEqual([['cow', 'ox'], ['buffalo', 'cow'], ['4', '2']]);
    expect(mc.layout.height).toBe(50 + 30 + 2 * 24 + 16); // sized to its rows
    expect(tableFigure(['x'], [[0.000009999999999999999], [5.617072]]).data[0]!.cells).toMatchObject({ values: [['1.00e-5', '5.617']] }); // rounded for people
    const zs = zeroShotTableFigure([{ model: 'squeezenet1_1', top1: 0.4567, classes: 10 }, { model: 'resnet34', top1: 0.6, top5: 0.9 }]);
    const z = zs.data[0] as Trace & { header: { values: string[] }; cells: { values: string[][] } };
    expect(z.header.values).toEqual(['<b>model</b>', '<b>top1</b>', '<b>classes</b>', '<b>top5</b>']);
    expect(z.cells.values).toEqual([['squeezenet1_1', 'resnet34'], ['45.7%', '60.0%'], ['10', ''], ['', '90.0%']]);
    expect(() => tableFigure(['a', 'b'], [[1]])).toThrow(/row 0 has 1 cells/);
  });
});

describe('training figures', () => {
  it('LR finder: log x axis and the suggestion marked at the nearest recorded loss', () => {
    const lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
    const fig = lrFinderFigure(lrs, [2, 1.9, 1.5, 1.2, 4], { suggestion: 1.1e-3 });
    expect(fig.data).toHaveLength(2);
    expect(fig.data[1]).toMatchObject({ name: 'suggestion', x: [1.1e-3], y: [1.5] });
    expect(fig.layout.xaxis).toMatchObject({ type: 'log', title: { text: 'Learning rate' } });
    expect(title(fig.layout.yaxis)).toBe('Loss');
    expect((fig.layout.annotations as { text: string }[])[0].text).toBe('suggested 1.1e-3');
    expect(lrFinderFigure(lrs, [1, 1, 1, 1, 1]).data).toHaveLength(1);
    expect(() => lrFinderFigure(lrs, [1])).toThrow(/5 learning rates for 1 losses/);
  });

  it('loss curves: x in epochs, phases named and separated, one y axis per loss kind', () => {
    const fig = lossCurvesFigure([
      { name: 'stage1-frozen', lossName: 'crossEntropy', train: [3, 2.5, 2.2, 2.0], valid: [2.4, 2.1], batchesPerEpoch: 2 },
      { name: 'stage2a', lossName: 'cosineLoss', train: [0.9, 0.7, 0.6], valid: [0.8, 0.65, 0.6], batchesPerEpoch: 1 },
    ]);
    expect(fig.data.map((t) => [t.name, t.yaxis])).toEqual([['train (cross-entropy)', 'y'], ['valid (cross-entropy)', 'y'], ['train (cosine loss (1 − cos))', 'y2'], ['valid (cosine loss (1 − cos))', 'y2']]);
    expect(fig.data[0]!.x).toEqual([0.5, 1, 1.5, 2]);
    expect(fig.data[1]!.x).toEqual([1, 2]);
    expect(fig.data[3]!.x).toEqual([3, 4, 5]);
    expect((fig.layout.shapes as { x0: number }[]).map((s) => s.x0)).toEqual([2]);
    expect((fig.layout.annotations as { text: string }[]).map((a) => a.text)).toEqual(['stage1-frozen', 'stage2a']);
    expect(title(fig.layout.xaxis)).toBe('Epoch');
    expect(fig.layout.yaxis2).toMatchObject({ overlaying: 'y', side: 'right' });
  });

  it('model size bars with MB and parameter labels', () => {
    const fig = modelSizeFigure([{ name: 'squeezenet1_1', sizeMB: 4.8, params: 1_235_496 }, { name: 'resnet34', sizeMB: 83.3, params: 21_797_672 }]);
    expect(fig.data[0]).toMatchObject({ type: 'bar', x: ['squeezenet1_1', 'resnet34'], y: [4.8, 83.3] });
    expect(fig.data[0].text).toEqual(['4.8 MB · 1.24 M params', '83.3 MB · 21.80 M params']);
    expect(title(fig.layout.yaxis)).toBe('Size (MB)');
  });
});

describe('image figures', () => {
  it('top losses: one image per item on its own axes, captioned prediction/actual/loss/probability', () => {
    const items = [0, 1, 2, 3].map((i) => ({ image: PIXEL, predicted: 'cow', actual: 'ox', loss: 2.5 + i, probability: 0.25 }));
    const fig = topLossesFigure(items, { cols: 2 });
    expect(fig.data.map((t) => [t.type, t.xaxis, t.yaxis])).toEqual([['image', 'x', 'y'], ['image', 'x2', 'y2'], ['image', 'x3', 'y3'], ['image', 'x4', 'y4']]);
    expect(fig.data[0].source).toBe(PIXEL);
    expect((fig.layout.annotations as { text: string }[])[1].text).toBe('cow/ox<br>3.50/0.25');
    expect(fig.layout).toMatchObject({ width: 480 }); // 2 columns of 240 px: tiles large enough to read, 3 columns fit JupyterLab's output area
    expect(fig.layout.xaxis4).toMatchObject({ visible: false });
  });

  it('search strip: the query first (image or word), then the hits with scores', () => {
    const hits = [{ image: PIXEL, label: 'zebra', score: 0.91234 }, { image: PIXEL, label: 'horse', score: 0.8 }];
    const byWord = searchStripFigure({ word: 'zebra' }, hits);
    expect(byWord.data).toHaveLength(3);
    expect(byWord.data[0]).toMatchObject({ type: 'scatter', mode: 'text', text: ['“zebra”'] });
    expect((byWord.layout.annotations as { text: string }[]).map((a) => a.text)).toEqual(['<b>query</b>', '1. zebra<br>0.912', '2. horse<br>0.800']);
    const byImage = searchStripFigure({ image: PIXEL }, hits);
    expect(byImage.data.map((t) => t.type)).toEqual(['image', 'image', 'image']);
    expect(() => searchStripFigure({}, hits)).toThrow(/image or a word/);
    // Five hits and the query fit JupyterLab's output area (~800 px); two hits keep 160 px cells.
    expect(searchStripFigure({ word: 'zebra' }, [...hits, ...hits, hits[0]!]).layout.width).toBeLessThanOrEqual(780);
    expect(byWord.layout.width).toBe(480);
  });

  it('CAM overlay: the heatmap cells are stretched over the image pixels', () => {
    const fig = camOverlayFigure(PIXEL, [[0, 1], [2, 3]], { width: 224, height: 112 });
    expect(fig.data.map((t) => t.type)).toEqual(['image', 'heatmap']);
    expect(fig.data[1]).toMatchObject({ dx: 112, dy: 56, x0: 55.5, y0: 27.5 });
  });
});
