/**
 * The command-line plumbing every CLI in utils/ and bench/ shares: flags declared once (type, description,
 * default, placeholder) give the parser, the `--help` text and the unknown-flag suggestion; user errors are
 * one or two lines and exit 1, with no stack trace unless DEVISE_DEBUG=1.
 *
 *   const cli = defineCli({
 *     command: 'npm run train --', summary: 'Two-stage DeViSE training.',
 *     flags: { data: { type: 'path', description: 'dataset root', required: true }, bs: { type: 'integer', default: 16, description: 'batch size' } },
 *     examples: ['npm run train -- --data data_samples --stage 1'],
 *   });
 *   runCli(async () => { const { values } = cli.parse(); ... });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { env, userPath } from './env';

/** An error caused by what the user typed or pointed at: printed as its message only, exit code 1. */
export class UserError extends Error {
  /** What to do about it (printed on a second line). */
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UserError';
    this.hint = hint;
  }
}

/** The types a flag's value can have. `path` is a string resolved against the directory the user typed the command in. */
export type FlagType = 'string' | 'path' | 'number' | 'integer' | 'boolean';

/** One flag, declared once: it drives parsing, `--help` and the error messages. */
export interface FlagSpec {
  type: FlagType;
  description: string;
  default?: string | number | boolean;
  /** Shown after the flag in help, e.g. `<dir>`; defaults from the type. */
  placeholder?: string;
  /** Allowed values (string flags). */
  choices?: readonly string[];
  required?: boolean;
  /** One-letter alias (`-h`). */
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'boolean' ? boolean : S['type'] extends 'number' | 'integer' ? number : string;
/** The parsed values: flags with a default (and booleans, and required flags) are always present. */
export type FlagValues<F extends FlagSpecs> = {
  [K in keyof F]: F[K] extends { default: string | number | boolean } | { type: 'boolean' } | { required: true } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

export interface CliSpec<F extends FlagSpecs> {
  /** How the user invokes it, e.g. `npm run train --` (help prints `usage: <command> [flags]`). */
  command: string;
  /** One line (or a short paragraph) on what the command does. */
  summary: string;
  flags: F;
  /** Positional arguments, e.g. `<download|convert|summary> [file]`; none are accepted when absent. */
  positionals?: string;
  /** Subcommands (first positional) with one line each; an unknown one is rejected with a suggestion. */
  commands?: Record<string, string>;
  /** At least one full command line the user can copy. */
  examples: string[];
  /** Extra text printed after the flags in --help. */
  notes?: string;
}

export interface Parsed<F extends FlagSpecs> {
  values: FlagValues<F>;
  positionals: string[];
  /** Flags the user actually typed (not defaults), by flag name. */
  given: Set<keyof F & string>;
}

export interface Cli<F extends FlagSpecs> {
  spec: CliSpec<F>;
  /** Parses argv (default: process.argv.slice(2)); `--help` prints the help and exits 0; mistakes throw UserError. */
  parse(argv?: string[]): Parsed<F>;
  /** The --help text. */
  help(): string;
  /** The flag names the parser accepts, with their `--` (help included). */
  flagNames(): string[];
}

const HELP: FlagSpec = { type: 'boolean', short: 'h', description: 'print this help and exit (with --json: the accepted flags as one JSON line)' };

/** Declares a CLI: its flags, help text and examples. */
export function defineCli<F extends FlagSpecs>(spec: CliSpec<F>): Cli<F> {
  const all: FlagSpecs = { ...spec.flags, help: HELP };
  return {
    spec,
    help: () => helpText(spec),
    flagNames: () => Object.keys(all).map((k) => `--${k}`),
    parse(argv = process.argv.slice(2)) {
      const wantsHelp = argv.includes('--help') || argv.includes('-h');
      // `--help --json`: the flags this parser accepts, as one JSON line (for shell completion and the --help test).
      if (wantsHelp && argv.includes('--json')) {
        process.stdout.write(`${JSON.stringify({ command: spec.command, flags: Object.entries(all).map(([name, s]) => ({ name, type: s.type, choices: s.choices })) })}\n`);
        process.exit(0);
      }
      const parsed = parseFlags(spec, all, argv);
      if (parsed.values.help) {
        process.stdout.write(`${helpText(spec)}\n`);
        process.exit(0);
      }
      return parsed as Parsed<F>;
    },
  };
}

function placeholder(s: FlagSpec): string {
  if (s.type === 'boolean') return '';
  if (s.placeholder) return s.placeholder;
  if (s.choices) return s.choices.join('|');
  return { string: '<text>', path: '<path>', number: '<n>', integer: '<n>' }[s.type];
}

/** The `--help` text: usage line, summary, every flag with its default, commands, examples. */
export function helpText<F extends FlagSpecs>(spec: CliSpec<F>): string {
  const flags: [string, FlagSpec][] = [...Object.entries(spec.flags), ['help', HELP]];
  const left = flags.map(([name, s]) => `${s.short ? `-${s.short}, ` : '    '}--${name}${placeholder(s) ? ` ${placeholder(s)}` : ''}`);
  const width = Math.min(34, Math.max(...left.map((l) => l.length)) + 2);
  const rows = flags.map(([, s], i) => {
    const extra = [s.required ? 'required' : '', s.default !== undefined && s.type !== 'boolean' ? `default ${String(s.default)}` : ''].filter(Boolean).join(', ');
    const l = left[i]!;
    const pad = l.length + 2 > width ? `\n  ${''.padEnd(width)}` : ''.padEnd(width - l.length);
    return `  ${l}${pad}${s.description}${extra ? ` (${extra})` : ''}`;
  });
  const out = [`usage: ${spec.command} ${spec.positionals ? `${spec.positionals} ` : ''}[flags]`, '', spec.summary];
  if (spec.commands) {
    const w = Math.max(...Object.keys(spec.commands).map((c) => c.length)) + 2;
    out.push('', 'commands:', ...Object.entries(spec.commands).map(([c, d]) => `  ${c.padEnd(w)}${d}`));
  }
  out.push('', 'flags:', ...rows);
  if (spec.notes) out.push('', spec.notes);
  out.push('', spec.examples.length > 1 ? 'examples:' : 'example:', ...spec.examples.map((e) => `  ${e}`));
  return out.join('\n');
}

/** Levenshtein distance (for "did you mean"). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word` (prefix matches first), or undefined when none is reasonably close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const prefix = candidates.filter((c) => c.startsWith(word) || word.startsWith(c));
  if (prefix.length === 1) return prefix[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.ceil(word.length / 3)) ? best : prefix[0];
}

// The one path rule (flags and variables alike) lives with the environment.
export { userCwd, userPath } from './env';

function seeHelp(spec: CliSpec<FlagSpecs>): string {
  return `see: ${spec.command} --help`;
}

function parseFlags<F extends FlagSpecs>(spec: CliSpec<F>, all: FlagSpecs, argv: string[]): Parsed<FlagSpecs> {
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  const names = Object.keys(all);
  const byShort = new Map(Object.entries(all).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  const unknown = (flag: string): never => {
    const bare = flag.replace(/^-+/, '');
    const near = closest(bare, names);
    throw new UserError(`unknown flag ${flag}${near ? ` (did you mean --${near}?)` : ''}; ${seeHelp(spec)}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!tok.startsWith('-') || tok === '-' || /^-\d/.test(tok)) {
      positionals.push(tok);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      name = eq > 0 ? tok.slice(2, eq) : tok.slice(2);
      inline = eq > 0 ? tok.slice(eq + 1) : undefined;
      if (!(name in all)) unknown(eq > 0 ? tok.slice(0, eq) : tok);
    } else {
      const n = byShort.get(tok.slice(1));
      if (!n) unknown(tok);
      name = n!;
    }
    const s = all[name]!;
    if (s.type === 'boolean') {
      if (inline !== undefined && !['true', 'false', '1', '0'].includes(inline)) throw new UserError(`--${name} is a switch and takes no value (got '${inline}')`, seeHelp(spec));
      values[name] = inline === undefined || inline === 'true' || inline === '1';
      given.add(name);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && !/^-\d|^-\.\d/.test(next) && next !== '-')) {
        throw new UserError(`--${name} needs a value${placeholder(s) ? ` (${placeholder(s)})` : ''}`, seeHelp(spec));
      }
      raw = next;
      i++;
    }
    values[name] = convert(name, s, raw, spec);
    given.add(name);
  }
  if (!values.help) {
    if (spec.commands) {
      const cmd = positionals[0];
      const cmds = Object.keys(spec.commands);
      if (!cmd) throw new UserError(`name a command: ${cmds.join(', ')}`, seeHelp(spec));
      if (!cmds.includes(cmd)) {
        const near = closest(cmd, cmds);
        throw new UserError(`unknown command '${cmd}'${near ? ` (did you mean ${near}?)` : ''}; the commands are ${cmds.join(', ')}`, seeHelp(spec));
      }
    } else if (!spec.positionals && positionals.length) {
      const near = closest(positionals[0]!.replace(/^-+/, ''), names);
      throw new UserError(`unexpected argument '${positionals[0]}'${near && positionals[0]!.length > 2 ? ` (did you mean --${near}?)` : ''}; flags start with --`, seeHelp(spec));
    }
  }
  for (const [name, s] of Object.entries(all)) {
    if (values[name] !== undefined) continue;
    if (s.default !== undefined) values[name] = s.type === 'path' ? userPath(String(s.default)) : s.default;
    else if (s.type === 'boolean') values[name] = false;
    else if (s.required && !values.help) throw new UserError(`--${name} is required: ${s.description}`, seeHelp(spec));
  }
  return { values: values as FlagValues<FlagSpecs>, positionals, given };
}

function convert(name: string, s: FlagSpec, raw: string, spec: CliSpec<FlagSpecs>): string | number {
  if (s.type === 'number' || s.type === 'integer') {
    const v = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(v) || (s.type === 'integer' && !Number.isInteger(v))) {
      throw new UserError(`--${name} expects ${s.type === 'integer' ? 'an integer' : 'a number'}, got '${raw}'`, seeHelp(spec));
    }
    return v;
  }
  if (s.choices && !s.choices.includes(raw)) {
    const near = closest(raw, s.choices);
    throw new UserError(`--${name} must be one of ${s.choices.join(', ')}, got '${raw}'${near ? ` (did you mean ${near}?)` : ''}`);
  }
  return s.type === 'path' ? userPath(raw) : raw;
}

/** Splits `a=b,c=d` (repeatable flags written with commas) into pairs; a malformed item is a UserError. */
export function parsePairs(flag: string, raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new UserError(`--${flag} expects word=other pairs separated by commas, got '${item}'`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

const FS_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ENOSPC', 'EROFS', 'EEXIST', 'ENOTEMPTY', 'ELOOP', 'ENAMETOOLONG', 'EMFILE']);

/** True for a Node.js file-system error (has a code like ENOENT and usually a path). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && FS_CODES.has((err as NodeJS.ErrnoException).code!);
}

/** The nearest existing ancestor of `p` and the first missing component below it (for ENOENT messages). */
function firstMissing(p: string): { parent: string; missing: string } | undefined {
  let cur = path.resolve(p);
  let missing = cur;
  while (!fs.existsSync(cur)) {
    const up = path.dirname(cur);
    if (up === cur) return undefined;
    missing = cur;
    cur = up;
  }
  return missing === path.resolve(p) && cur === path.resolve(p) ? undefined : { parent: cur, missing };
}

/**
 * Turns a file-system error into a UserError that says what is wrong, which path, what to do.
 * `what` names the thing the path was for (e.g. "--vectors file"); `p` overrides the error's own path.
 */
export function fsError(err: NodeJS.ErrnoException, what?: string, p?: string): UserError {
  const file = p ?? err.path ?? (err as { dest?: string }).dest ?? '(unknown path)';
  const label = what ? `${what} ${file}` : file;
  switch (err.code) {
    case 'ENOENT': {
      const m = firstMissing(file);
      const below = m && fs.statSync(m.parent).isDirectory() && m.missing !== path.resolve(file) ? ` (${m.missing} is missing)` : '';
      return new UserError(`${label} does not exist${below}`, 'check the path (relative paths start from the folder you ran the command in)');
    }
    case 'ENOTDIR': {
      // Some component is a file where a folder was expected.
      let cur = path.resolve(file);
      while (cur !== path.dirname(cur) && !(fs.existsSync(cur) && fs.statSync(cur).isFile())) cur = path.dirname(cur);
      const culprit = fs.existsSync(cur) && fs.statSync(cur).isFile() ? cur : file;
      return new UserError(`${what ? `${what} ` : ''}${culprit} is a file, not a folder`, 'pass the folder that holds it');
    }
    case 'EISDIR':
      return new UserError(`${label} is a folder, not a file`, 'pass a file inside it');
    case 'EACCES':
    case 'EPERM':
      return new UserError(`permission denied: ${label}`, 'check its permissions (ls -l), or choose a path you can read and write');
    case 'EROFS':
      return new UserError(`${label} is on a read-only file system`, 'choose another output path');
    case 'ENOSPC':
      return new UserError(`no space left on the device while writing ${label}`, 'free some disk space (df -h) or choose another output path');
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new UserError(`${label} already exists`, 'remove it or choose another path');
    default:
      return new UserError(`${label}: ${err.message.replace(/^[A-Z]+: /, '')}`);
  }
}

/** The one- or two-line text for an error shown to a user; undefined for a bug (prints a stack trace). */
export function userMessage(err: unknown): string | undefined {
  if (err instanceof UserError) return err.hint ? `error: ${err.message}\n  ${err.hint}` : `error: ${err.message}`;
  // lib/backend/io's errors already name the path and the action (namedFsError): keep their words.
  if (isFsError(err)) return (err as { namedByIo?: boolean }).namedByIo ? `error: ${err.message}` : userMessage(fsError(err));
  return undefined;
}

/**
 * Runs a CLI's main: a UserError or fs error prints one or two lines and exits 1; any other error prints its
 * message (and its stack only with DEVISE_DEBUG=1) and exits 1. Errors from lib/ are mostly plain Errors with
 * a user-facing message, so those print without a stack too.
 */
export function runCli(main: () => Promise<unknown> | unknown): void {
  const fail = (err: unknown): void => {
    const debug = env.debug === true;
    const text = userMessage(err) ?? `error: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`${text}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else if (!(err instanceof UserError) && !isFsError(err) && !(err instanceof Error && err.message)) process.stderr.write('  (set DEVISE_DEBUG=1 for the stack trace)\n');
    // stderr is synchronous for files and pipes on Linux; exit now so worker threads cannot keep the process up.
    process.exit(1);
  };
  try {
    Promise.resolve(main()).catch(fail);
  } catch (err) {
    fail(err);
  }
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C handling for long jobs: the first SIGINT (or SIGTERM) calls `stop` (the job finishes its batch,
 * saves and exits 130 itself) and says so; a second one exits 130 at once. Returns a function that removes
 * the handlers.
 */
export function onInterrupt(stop: (signal: NodeJS.Signals) => void, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): () => void {
  let count = 0;
  let first = 0;
  const handler = (signal: NodeJS.Signals): void => {
    // One Ctrl-C in a terminal can arrive twice (from the terminal to the whole process group, and forwarded
    // by npm when the script execs node): signals within 500 ms of the first count as one.
    if (count > 0 && Date.now() - first < 500) return;
    count++;
    if (count === 1) first = Date.now();
    if (count > 1) {
      log('Interrupted again: exiting now (the last completed checkpoint is kept).');
      process.exit(EXIT_INTERRUPTED);
    }
    stop(signal); // may exit (nothing to save)
    log(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping after the current batch and saving a checkpoint (press Ctrl-C again to quit at once).`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Quotes an argument for a shell command line the user can copy. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
