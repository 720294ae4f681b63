/**
 * devise-ts: the library's public entry. Notebooks, utils and benches import from here.
 *
 *   import { initBackend } from './lib';
 */
export * from './backend/index';
export * from './preprocessing';
