/**
 * The main job: runs the DeViSE pipeline headless on the embedded default (`data_samples/`).
 *
 *   npm run demo [-- --json]
 *
 * Today it initialises and reports the backend; the full pipeline (train, embed, search, report)
 * lands with the notebooks-and-demo work.
 */
import { formatBackendInfo, initBackend } from '../lib/index';

async function main(): Promise<void> {
  const info = await initBackend();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ backend: info.backend, threads: info.threads, tfjs: info.tfjs, pipeline: 'not yet implemented' }));
    return;
  }
  console.log(formatBackendInfo(info));
  console.log('\nThe DeViSE pipeline (stage 1, stage 2, search, report) is not implemented yet: only the backend is set up.');
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
