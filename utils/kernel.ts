/**
 * Registers the project's TypeScript kernel (tslab, run by this checkout's Node) with Jupyter under the
 * project's own name `devise-ts` ("TypeScript (devise-ts)"), with `node_modules/.bin` on the kernel's PATH.
 * A kernel named `tslab` that a user registered for their own tslab is never touched.
 *
 *   npm run kernel                       # for this user (Jupyter's data dir)
 *   npm run kernel -- --prefix .venv     # into <prefix>/share/jupyter/kernels (what `npm run deps` does for .venv/)
 *   npm run kernel -- --dir /tmp/k       # into an explicit kernels folder (tests)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defineCli, runCli } from '../lib/cli';
import { env } from '../lib/env';

export const KERNEL_NAME = 'devise-ts';
export const KERNEL_DISPLAY_NAME = 'TypeScript (devise-ts)';
const ROOT = path.resolve(__dirname, '..');

/** The kernel.json content for this checkout. */
export function kernelSpec(): Record<string, unknown> {
  const bin = path.join(ROOT, 'node_modules', '.bin');
  return {
    argv: [process.execPath, path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    // jupyter_client expands ${PATH} from the launching environment.
    env: { PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}\${PATH}` },
  };
}

/** Writes the kernelspec into `kernelsDir/devise-ts/kernel.json` (no other kernel in `kernelsDir` is touched); returns that folder. */
export function writeKernelSpec(kernelsDir: string): string {
  const dir = path.join(kernelsDir, KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(kernelSpec(), null, 2) + '\n');
  return dir;
}

/** Jupyter's per-user data dir: `jupyter --data-dir` when Jupyter is on PATH, else the platform default. */
function userDataDir(): string {
  if (env.jupyterDataDir) return env.jupyterDataDir;
  try {
    return execFileSync('jupyter', ['--data-dir'], { encoding: 'utf8' }).trim();
  } catch {
    if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
    if (process.platform === 'win32') return path.join(os.homedir(), 'AppData', 'Roaming', 'jupyter');
    return path.join(env.xdgDataHome ?? path.join(os.homedir(), '.local', 'share'), 'jupyter');
  }
}

export const cli = defineCli({
  command: 'npm run kernel --',
  summary: `Registers this checkout's TypeScript kernel (tslab) with Jupyter as '${KERNEL_NAME}' ("${KERNEL_DISPLAY_NAME}"), beside any tslab kernel you have (node_modules/.bin on the kernel's PATH).`,
  flags: {
    prefix: { type: 'path', placeholder: '<dir>', description: "install into <dir>/share/jupyter/kernels (a virtualenv's JupyterLab)" },
    dir: { type: 'path', placeholder: '<kernels dir>', description: 'install into this kernels folder itself (tests)' },
  },
  examples: ['npm run kernel', 'npm run kernel -- --prefix .venv'],
});

function main(argv: string[]): void {
  const { values: a } = cli.parse(argv);
  const kernelsDir = a.dir ?? (a.prefix ? path.join(a.prefix, 'share', 'jupyter', 'kernels') : path.join(userDataDir(), 'kernels'));
  const dir = writeKernelSpec(kernelsDir);
  console.log(`Installed the kernel '${KERNEL_NAME}' ("${KERNEL_DISPLAY_NAME}") in ${dir}`);
  console.log('Open the notebooks with: npm run lab   (or: jupyter notebook notebooks/)');
}

if (require.main === module) runCli(() => main(process.argv.slice(2)));
