/**
 * Test hook, preloaded through NODE_OPTIONS (`--import tsx --import <this file>`) into a command a test runs: after
 * every training batch it prints `test: <phase> batch <n> done` to stderr and pauses PAUSE_MS milliseconds, so the
 * test can send its signals at a known point. It adds itself to fastai's `defaults.extraCallbacks`; the command
 * under test is unchanged.
 */
import { defaults } from '../../lib/train/defaults';

const ms = Number(process.env.PAUSE_MS ?? 0);
if (ms > 0) {
  defaults.extraCallbacks.push({
    onBatchEnd: (s) => new Promise<void>((resolve) => {
      process.stderr.write(`test: ${s.name ?? 'fit'} batch ${s.iteration} done, pausing ${ms} ms\n`);
      setTimeout(resolve, ms);
    }),
  });
}
