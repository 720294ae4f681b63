/**
 * fastai's `defaults.extra_callbacks`: callbacks that every Learner's fits run besides its own, for tooling that
 * wraps a whole command without changing it (a test preloads a module that adds one to pause at known batches).
 *
 *   defaults.extraCallbacks.push({ onBatchEnd: (s) => console.log(s.iteration) });
 */
import type { Callback } from './types';

/** Settings every Learner reads when it fits. */
export const defaults: { extraCallbacks: Callback[] } = { extraCallbacks: [] };
