/** One thread everywhere, in this test process: runs are bit-for-bit reproducible, so two runs can be compared exactly. */
import { expect } from 'vitest';
import { initBackend } from '../../lib/backend/index';

/** Sets one native and one wasm thread before the backend starts, and checks that it took. Call it in beforeAll. */
export async function oneThreadBackend(): Promise<void> {
  process.env.DEVISE_WASM_THREADS = '1';
  process.env.DEVISE_THREADS = '1';
  expect((await initBackend()).threads).toBe(1);
}
