/** Tiny flag reader shared by the benchmarks: `--name value` and boolean `--name`. */
export function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length && !argv[i + 1]!.startsWith('--') ? argv[i + 1] : undefined;
}

export function numberFlag(argv: string[], name: string, fallback: number): number {
  const v = flag(argv, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${v}'`);
  return n;
}

export function hasFlag(argv: string[], name: string): boolean {
  return argv.includes(`--${name}`);
}

/** Resident set size in MB, for the `rssMB` field every benchmark reports. */
export function rssMB(): number {
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}
