// With the native addon hidden, `npm run info` names the missing native kernels and the command that fixes them.
//   npx vitest run test/backend/native-advice.test.ts --maxWorkers 1
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATIVE_KERNELS_FIX } from '../../lib/backend/index';
import { ROOT } from '../helpers';

describe('native kernels advice', () => {
  it('npm run info with DEVISE_NATIVE=0 says the native kernels are off, how much faster they are, and the fix', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'utils/info.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DEVISE_NATIVE: '0', DEVISE_BACKEND: 'wasm' },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('native kernels off (DEVISE_NATIVE=0)');
    expect(r.stdout).toContain('about 2–4× faster');
    expect(r.stdout).toContain(NATIVE_KERNELS_FIX);
    expect(NATIVE_KERNELS_FIX).toBe('sudo apt-get install libdnnl-dev && npm rebuild devise-native');
  }, 130_000);
});
