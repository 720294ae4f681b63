/**
 * Test hook, preloaded with `node --import tsx --import ./test/hooks/slow-fs.ts`: every `fs.rmSync` (which a file
 * transfer calls once per image) also waits SLOW_FS_MS milliseconds, so a crash test can SIGKILL the transfer part-way.
 * The slowing lives here, not in the product: the code under test runs unchanged.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const ms = Number(process.env.SLOW_FS_MS ?? 4);
const rmSync = fs.rmSync;
fs.rmSync = (...args: Parameters<typeof fs.rmSync>): void => {
  rmSync(...args);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
syncBuiltinESMExports();
