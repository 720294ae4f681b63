/** Shared CLI plumbing for copy-awa2 / move-awa2: progress bar, summary table, exit codes. */
import { type TransferJob, type TransferReport, runTransfer } from '../lib/data/transfer';

/** Runs a planned job with a progress bar on a terminal, prints the summary table, sets the exit code. */
export function runWithSummary(job: TransferJob, dryRun: boolean): TransferReport {
  const tty = process.stderr.isTTY;
  const report = runTransfer(job, {
    dryRun,
    onProgress: (done, total) => {
      if (!tty || (done % 25 !== 0 && done !== total)) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
    },
  });
  console.log(formatReport(report));
  if (report.conflicts.length) {
    console.error(`${report.conflicts.length} conflict(s), nothing overwritten:\n  ${report.conflicts.slice(0, 20).join('\n  ')}`);
    process.exitCode = 1;
  }
  return report;
}

/** The summary table: one row per class plus a total. */
export function formatReport(r: TransferReport): string {
  const verb = r.mode === 'move' ? 'moved' : 'copied';
  const head = ['class', 'planned', r.dryRun ? `to be ${verb}` : verb, 'already there', 'conflicts'];
  const rows = r.classes.map((c) => [c.label, c.planned, c.transferred, c.already, c.conflicts].map(String));
  const sum = (k: 'planned' | 'transferred' | 'already' | 'conflicts') => String(r.classes.reduce((s, c) => s + c[k], 0));
  rows.push(['TOTAL', sum('planned'), sum('transferred'), sum('already'), sum('conflicts')]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const notes = [r.dryRun ? '(dry run: nothing changed)' : '', r.resumed ? '(resumed an interrupted run from its journal)' : ''].filter(Boolean);
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...notes].join('\n');
}
