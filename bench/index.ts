/**
 * Benchmark entry: `npm run bench -- <name> [flags]` runs `bench/<name>.ts`, which exports
 * `run(argv: string[]): Promise<object>`; the result is printed as one JSON object (with `--json`)
 * or as indented JSON for people.
 *
 *   npm run bench -- train --model squeezenet1_1 --batch 16 --size 224 --json
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type BenchFn = (argv: string[]) => Promise<Record<string, unknown>>;

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  const available = fs.readdirSync(__dirname).filter((f) => f.endsWith('.ts') && !['index.ts', 'flags.ts'].includes(f) && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3));
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run bench -- <${available.join('|')}> [flags] [--json]`);
    process.exit(2);
  }
  const mod = (await import(path.join(__dirname, `${name}.ts`))) as { run: BenchFn };
  const result = await mod.run(argv);
  console.log(argv.includes('--json') ? JSON.stringify(result) : JSON.stringify(result, null, 2));
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
