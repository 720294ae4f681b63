/**
 * Live training progress: in a tslab notebook one display updated in place (a bar with batch count and ETA above a
 * fastai-style epoch table; its plain-text form is the same table as text, for nbconvert and GitHub); in a
 * terminal a single-line bar with ETA plus one line per epoch. Epochs are numbered from 1, as fastai v1 prints them.
 *
 *   const p = createProgress('auto');   // 'notebook' | 'terminal' | 'none'
 *   p.begin({ epochs: 3, totalIterations: 300, metricNames: ['accuracy'] });
 *   p.batch(1, 2.31); ...; p.epoch(record); p.end();
 *
 * The Learner drives it through `progressCallback` (one callback among the others). The notebook runtime is
 * detected in one place (lib/plots/display.ts); the notebook display is HTML whose last update is what
 * nbconvert/nbclient saves (update_display_data by display id).
 */
import type { Callback, EpochRecord, TrainState } from './types';
import { escapeHtml } from '../html';
import { inNotebook, newDisplay, type NotebookDisplay } from '../plots/display';

export interface ProgressInfo {
  epochs: number;
  totalIterations: number;
  metricNames: string[];
  /** Iterations already done (a resumed run). */
  startIteration?: number;
  title?: string;
}

/** Receives the loop's events; implementations render them. */
export interface Progress {
  begin(info: ProgressInfo): void;
  /** `done` iterations of this fit are finished; `smoothLoss` is the running training loss. */
  batch(done: number, smoothLoss: number): void;
  epoch(row: EpochRecord): void;
  end(message?: string): void;
}

export type ProgressMode = 'auto' | 'notebook' | 'terminal' | 'none';

/** `mm:ss` (or `h:mm:ss`). */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A metric's table column, fastai's Python name: `errorRate` → `error_rate` (the records keep the TypeScript name). */
function columnName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/** Progress display for `mode` ('auto': notebook inside tslab, terminal otherwise). */
export function createProgress(mode: ProgressMode = 'auto'): Progress {
  if (mode === 'none') return { begin() {}, batch() {}, epoch() {}, end() {} };
  const inKernel = mode !== 'terminal' && inNotebook();
  if (mode === 'notebook' && !inKernel) throw new Error("createProgress('notebook') needs a tslab kernel; use 'auto' or 'terminal' elsewhere.");
  return inKernel ? new NotebookProgress() : new TerminalProgress(process.stderr);
}

/** Shared bookkeeping: counts, timing, ETA. */
abstract class BaseProgress implements Progress {
  protected info: ProgressInfo = { epochs: 0, totalIterations: 0, metricNames: [] };
  protected rows: EpochRecord[] = [];
  protected done = 0;
  protected loss = NaN;
  protected t0 = 0;
  private lastDraw = 0;
  /** The least time between two redraws within an epoch. */
  protected readonly redrawMs: number = 200;

  begin(info: ProgressInfo): void {
    this.info = info;
    this.rows = [];
    this.done = info.startIteration ?? 0;
    this.t0 = Date.now();
    this.draw(false);
  }

  batch(done: number, smoothLoss: number): void {
    this.done = done;
    this.loss = smoothLoss;
    if (Date.now() - this.lastDraw >= this.redrawMs) this.draw(false);
  }

  epoch(row: EpochRecord): void {
    this.rows.push(row);
    this.draw(false);
  }

  end(message?: string): void {
    this.draw(true, message);
  }

  protected status(): { pct: number; text: string } {
    const total = Math.max(1, this.info.totalIterations);
    const start = this.info.startIteration ?? 0;
    const elapsed = (Date.now() - this.t0) / 1000;
    const eta = this.done > start ? (elapsed / (this.done - start)) * (total - this.done) : NaN;
    const pct = Math.min(100, (100 * this.done) / total);
    const loss = Number.isFinite(this.loss) ? ` loss ${this.loss.toFixed(4)}` : '';
    return { pct, text: `${pct.toFixed(0)}% [${this.done}/${total} ${formatTime(elapsed)}<${formatTime(eta)}${loss}]` };
  }

  /** The columns as fastai v1 prints them: `metrics: [errorRate]` heads `error_rate`, as in the original. */
  protected header(): string[] {
    return ['epoch', 'train_loss', 'valid_loss', ...this.info.metricNames.map(columnName), 'time'];
  }

  /** One table row; epochs are numbered from 1, as fastai v1 prints them (the records count from 0). */
  protected cells(r: EpochRecord): string[] {
    return [String(r.epoch + 1), fmt(r.trainLoss), fmt(r.validLoss), ...this.info.metricNames.map((m) => fmt(r.metrics[m] ?? NaN)), formatTime(r.seconds)];
  }

  /** The epoch table as fixed-width text (the terminal's lines, and the plain-text form of the notebook display). */
  protected textLine(cells: string[]): string {
    const widths = this.header().map((h) => Math.max(h.length, 10));
    return cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  }

  private draw(final: boolean, message?: string): void {
    this.lastDraw = Date.now();
    this.render(final, message);
  }

  protected abstract render(final: boolean, message?: string): void;
}


/** One tslab display per fit (created when the fit begins, so it shows in the cell running it): bar + table, rewritten on each update. */
class NotebookProgress extends BaseProgress {
  private display: NotebookDisplay | undefined;
  // Twice a second: each update is a message to the front end, and tslab's socket throws EBUSY (the kernel dies) when
  // the next one comes while the last is still being written — seen at 5×/s on a loaded machine.
  protected override readonly redrawMs = 500;

  override begin(info: ProgressInfo): void {
    this.display = newDisplay();
    super.begin(info);
  }

  protected render(final: boolean, message?: string): void {
    const { pct, text: status } = this.status();
    const head = this.header().map((h) => `<th>${h}</th>`).join('');
    const body = this.rows.map((r) => `<tr>${this.cells(r).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
    const bar = final
      ? ''
      : `<div><progress value="${pct.toFixed(1)}" max="100" style="width:300px;height:20px;vertical-align:middle;"></progress> ${escapeHtml(status)}</div>`;
    const note = message ? `<div><b>${escapeHtml(message)}</b></div>` : '';
    const title = this.info.title ? `<div>${escapeHtml(this.info.title)}</div>` : '';
    // A fit without epoch rows yet (or the LR finder, which has none) shows no empty table.
    const table = this.rows.length ? `<table border="1" class="dataframe"><thead><tr style="text-align:left;">${head}</tr></thead><tbody>${body}</tbody></table>` : '';
    // The plain-text form (nbconvert to text/markdown, GitHub without HTML): fastai's table as text.
    const text = [
      ...(this.info.title ? [this.info.title] : []),
      ...(final ? [] : [progressBarText(pct, status)]),
      ...(this.rows.length ? [this.textLine(this.header()), ...this.rows.map((r) => this.textLine(this.cells(r)))] : []),
      ...(message ? [message] : []),
    ].join('\n');
    this.display?.html(`${title}${bar}${table}${note}`, text);
  }
}

/** The bar as text: `█████░░░░░ 50% [6/12 00:03<00:03 loss 0.6931]`. */
function progressBarText(pct: number, status: string): string {
  const width = 30;
  const filled = Math.round((pct / 100) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${status}`;
}

/** A `\r`-rewritten bar on a TTY; epoch rows as lines (also the only output when not a TTY). */
class TerminalProgress extends BaseProgress {
  private printedRows = 0;
  private barShown = false;

  constructor(private readonly out: NodeJS.WriteStream) {
    super();
  }

  override begin(info: ProgressInfo): void {
    this.printedRows = 0;
    super.begin(info);
  }

  protected render(final: boolean, message?: string): void {
    const line = (cells: string[]): string => this.textLine(cells);
    if (this.printedRows === 0 && (this.rows.length > 0 || final)) this.write(`${this.info.title ? `${this.info.title}\n` : ''}${line(this.header())}\n`);
    while (this.printedRows < this.rows.length) this.write(`${line(this.cells(this.rows[this.printedRows++]!))}\n`);
    if (message) this.write(`${message}\n`);
    if (!final && this.out.isTTY) {
      const { pct, text } = this.status();
      this.out.write(`\r${progressBarText(pct, text)}\x1b[K`);
      this.barShown = true;
    }
  }

  private write(s: string): void {
    if (this.barShown) this.out.write('\r\x1b[K');
    this.barShown = false;
    this.out.write(s);
  }
}

/** A fit's heading: its name and its learning rate, e.g. `stage1-frozen · lr 3.0e-3` (`1.0e-6…1.0e-4` for a slice). */
function fitTitle(s: TrainState): string {
  const lrs = s.plan.lrs;
  const rate = lrs.every((l) => l === lrs[0]) ? lrs[0]!.toExponential(1) : `${lrs[0]!.toExponential(1)}…${lrs[lrs.length - 1]!.toExponential(1)}`;
  return `${s.name ? `${s.name} · ` : ''}lr ${rate}`;
}

/**
 * The progress display as a callback of the loop (fastai v2's ProgressCallback); `title` heads its table (by
 * default the fit's name and rate, so a rerun cell with a new rate shows it).
 */
export function progressCallback(p: Progress, title?: string): Callback {
  return {
    order: 90,
    onTrainBegin(s) {
      p.begin({ epochs: s.epochs, totalIterations: s.totalIterations, metricNames: s.validate ? s.metricNames : [], startIteration: s.iteration, title: title ?? fitTitle(s) });
    },
    onBatchEnd(s) {
      p.batch(s.iteration, s.smoothLoss);
    },
    onEpochEnd(s) {
      if (s.last) p.epoch(s.last);
    },
    onTrainEnd(s) {
      p.end(s.error instanceof Error ? s.error.message : s.stop ? s.stopReason ?? 'stopped by a callback' : undefined);
    },
  };
}
