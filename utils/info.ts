/**
 * Prints the tfjs backend this machine gets and the versions in use.
 *
 *   npm run info            # human text
 *   npm run info -- --json  # one JSON object: backend, threads, tfjs, ...
 */
import { formatBackendInfo, initBackend } from '../lib';

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(process.argv.includes('--json') ? JSON.stringify(info) : formatBackendInfo(info));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
