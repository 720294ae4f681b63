/**
 * Ctrl-C and resume for the training CLIs (train, demo): the first Ctrl-C stops the running phase after its
 * current batch (the phase writes its checkpoint), outside a phase it exits at once; the caller then prints
 * where the run stopped and the command that resumes it, and exits 130. A second Ctrl-C exits at once.
 *
 *   const guard = interruptGuard(log, () => `npm run train -- --resume ${dir}`);
 *   twoStageRecipe({ ..., callbacks: [guard.callback] });
 *   if (guard.interrupted) stopHere(...)
 */
import * as path from 'node:path';
import { EXIT_INTERRUPTED, onInterrupt, shellQuote, userCwd } from '../lib/cli';
import { describePosition } from '../lib/run-folder';
import { type Callback, INTERRUPTED } from '../lib/train/types';

export interface InterruptGuard {
  /** Add to every training phase: stops it at the next batch once Ctrl-C was pressed, and tracks whether one runs. */
  callback: Callback;
  readonly interrupted: boolean;
}

/**
 * Installs the Ctrl-C handler. `resumeCommand()` is the command to print when Ctrl-C lands outside a phase
 * (undefined: nothing to resume yet).
 */
export function interruptGuard(log: (line: string) => void, resumeCommand: () => string | undefined): InterruptGuard {
  let interrupted = false;
  let inFit = false;
  onInterrupt(() => {
    interrupted = true;
    if (inFit) return; // the loop stops after this batch and writes the checkpoint
    const cmd = resumeCommand();
    log(cmd ? `Stopped between training steps; every finished phase is kept. Resume with:\n  ${cmd}` : 'Stopped before training started; nothing to resume.');
    process.exit(EXIT_INTERRUPTED);
  }, log);
  return {
    get interrupted() {
      return interrupted;
    },
    callback: {
      // After the checkpoints (80) and the progress bar (90): a fit counts as running until its checkpoint is written.
      order: 95,
      onTrainBegin() {
        inFit = true;
      },
      onBatchBegin(s) {
        if (interrupted && !s.stop) {
          s.stop = true;
          s.stopReason = INTERRUPTED;
        }
      },
      onTrainEnd() {
        inFit = false;
      },
    },
  };
}

/** How the user would type a path: relative to where they are when it is below it. */
export function shownPath(p: string): string {
  const rel = path.relative(userCwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** Prints where the run stopped and the resume command, and exits 130. */
export function exitStopped(log: (line: string) => void, why: string, runDir: string, resumeCommand: string, batchesPerEpoch?: number): never {
  log(`Stopped (${why === INTERRUPTED ? 'Ctrl-C' : why}) ${describePosition(runDir, shownPath, batchesPerEpoch)}.`);
  log(`Resume with:\n  ${resumeCommand}`);
  process.exit(EXIT_INTERRUPTED);
}

/** `npm run <tool> -- --resume <dir>` with the path as the user would type it. */
export function resumeCommandFor(tool: string, dir: string): string {
  return `npm run ${tool} -- --resume ${shellQuote(shownPath(dir))}`;
}
