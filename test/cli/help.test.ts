/**
 * Every CLI answers --help (exit 0, usage, every flag its parser accepts, an example). The parser's own flag list
 * comes from `--help --json` (lib/cli.ts), printed by the same parser.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers';
import { runNode } from './run';

/** Entry file and leading arguments (a bench name) of every CLI. */
const CLIS: [string, string[]][] = [
  ['utils/train.ts', []],
  ['utils/demo.ts', []],
  ['utils/weights.ts', []],
  ['utils/copy-awa2.ts', []],
  ['utils/move-awa2.ts', []],
  ['utils/info.ts', []],
  ['utils/kernel.ts', []],
  ['utils/make-samples.ts', []],
  ['utils/notebooks.ts', []],
  ['utils/export.ts', []],
  ['utils/app.ts', []],
  ['utils/vectors.ts', []],
  ['utils/data.ts', []],
  ['bench/index.ts', []],
  ...['data', 'infer', 'search', 'train', 'vectors', 'table', 'app', 'zeroshot'].map((b): [string, string[]] => ['bench/index.ts', [b]]),
];

interface Spec {
  command: string;
  flags: { name: string; type: string; choices?: string[] }[];
}

/** A value the parser accepts for a flag of this type. */
function sample(f: Spec['flags'][number]): string[] {
  if (f.type === 'boolean') return [`--${f.name}`];
  if (f.choices) return [`--${f.name}`, f.choices[0]!];
  return [`--${f.name}`, f.type === 'number' || f.type === 'integer' ? '1' : 'x'];
}

describe('--help of every CLI', () => {
  it('every npm script that runs TypeScript uses node --import tsx (Ctrl-C reaches the process) and is covered here', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const [name, cmd] of Object.entries(scripts)) {
      if (!/\.ts\b/.test(cmd)) continue;
      expect(cmd, name).toMatch(/^node --import tsx \S+\.ts/);
    }
    for (const file of ['train', 'demo', 'weights', 'copy-awa2', 'move-awa2', 'info', 'kernel', 'make-samples']) {
      expect(scripts[file]).toBe(`node --import tsx utils/${file}.ts`);
    }
  });

  for (const [file, lead] of CLIS) {
    it(`${file} ${lead.join(' ')}`.trim(), () => {
      // The help, then (`--help --json`) one JSON line with the flags the parser accepts.
      const r = runNode(file, [...lead, '--help']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const json = runNode(file, [...lead, '--help', '--json']);
      expect(json.status, json.stderr).toBe(0);
      const { flags } = JSON.parse(json.stdout.trim()) as Spec;
      const help = r.stdout.trim();
      expect(help).toMatch(/^usage: npm run \S+/);
      expect(help).toMatch(/\nexamples?:\n {2}npm run /);
      const listed = new Set([...help.matchAll(/^\s+(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]!));
      expect([...listed].sort()).toEqual(flags.map((f) => f.name).sort());
      expect(flags.map((f) => f.name)).toContain('help');
    });
  }

  it('every flag the help lists is accepted (train, all at once, then --help)', () => {
    const spec = JSON.parse(runNode('utils/train.ts', ['--help', '--json']).stdout.trim()) as Spec;
    // --json left out: with --help it prints the flags as JSON instead of the usage text.
    const r = runNode('utils/train.ts', [...spec.flags.filter((f) => f.name !== 'help' && f.name !== 'json').flatMap(sample), '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run train --/);
  });
});
