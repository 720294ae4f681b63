/**
 * Prints the tfjs backend this machine gets and the versions in use.
 *
 *   npm run info            # human text
 *   npm run info -- --json  # one JSON object: backend, threads, tfjs, ...
 */
import { formatBackendInfo, initBackend } from '../lib/backend/index';
import { defineCli, runCli } from '../lib/cli';

export const cli = defineCli({
  command: 'npm run info --',
  summary: 'Prints the tfjs backend this machine gets (and why better ones were not used), its threads and the versions in use.',
  flags: { json: { type: 'boolean', description: 'print one JSON object instead of text' } },
  examples: ['npm run info', 'npm run info -- --json'],
});

runCli(async () => {
  const { values: a } = cli.parse();
  const info = await initBackend();
  console.log(a.json ? JSON.stringify(info) : formatBackendInfo(info));
});
