/**
 * Prints the tfjs backend this machine gets, the versions in use, and every environment variable the project
 * reads (with its default and the value set now).
 *
 *   npm run info            # human text
 *   npm run info -- --json  # one JSON object: backend, threads, tfjs, ..., env
 */
import { formatBackendInfo, initBackend } from '../lib/backend/index';
import { defineCli, runCli } from '../lib/cli';
import { ENV_VARIABLES } from '../lib/env';

export const cli = defineCli({
  command: 'npm run info --',
  summary: 'Prints the tfjs backend this machine gets (and why better ones were not used), its threads, the versions in use and the environment variables the project reads.',
  flags: { json: { type: 'boolean', description: 'print one JSON object instead of text' } },
  examples: ['npm run info', 'npm run info -- --json'],
});

/** The variables as aligned lines: name, value set now (or the default), what it does. */
function envTable(): string {
  const width = Math.max(...ENV_VARIABLES.map((v) => v.name.length));
  return ENV_VARIABLES.map((v) => `  ${v.name.padEnd(width)}  ${v.value !== undefined ? `= ${v.value}` : `(default: ${v.default})`}  ${v.doc}`).join('\n');
}

runCli(async () => {
  const { values: a } = cli.parse();
  const info = await initBackend();
  const env = ENV_VARIABLES.map(({ name, value, default: dflt, doc }) => ({ name, value, default: dflt, doc }));
  console.log(a.json ? JSON.stringify({ ...info, env }) : `${formatBackendInfo(info)}\n\nenvironment (lib/env.ts):\n${envTable()}`);
});
