/**
 * Model save/load on the filesystem in the TF.js layers format (`model.json` + `weights.bin`),
 * without tfjs-node's `file://` handler.
 *
 *   await saveLayersModel(model, 'models/stage1');
 *   const model = await loadLayersModel('models/stage1');
 *
 * A save writes into a temporary sibling folder and renames it into place, so an interrupted save
 * never leaves a half-written model where a complete one was.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/** An IOHandler that writes `model.json` + `weights.bin` into `dir`, atomically replacing it. */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    };
    const json = JSON.stringify(modelJson);
    writeDirAtomically(dir, { [MODEL_JSON]: json, [WEIGHTS_BIN]: weights });
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: json.length,
        weightSpecsBytes: JSON.stringify(modelJson.weightsManifest).length,
        weightDataBytes: weights.byteLength,
      },
    };
  });
}

/** An IOHandler that reads a TF.js layers model from `dir` (any number of weight shards). */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      recoverInterruptedSave(dir);
      const jsonPath = path.join(dir, MODEL_JSON);
      if (!fs.existsSync(jsonPath)) {
        throw new Error(`No TF.js model in ${dir}: ${jsonPath} does not exist. Save one with saveLayersModel(model, dir) first.`);
      }
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`${jsonPath} is not valid JSON (${(err as Error).message}); re-save the model.`);
      }
      const buffers: Uint8Array[] = [];
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      for (const group of modelJson.weightsManifest ?? []) {
        const groupBuffers = group.paths.map((p) => fs.readFileSync(path.join(dir, p)));
        const expected = group.weights.reduce((sum, w) => sum + specBytes(w), 0);
        const actual = groupBuffers.reduce((sum, b) => sum + b.byteLength, 0);
        if (expected !== actual) {
          throw new Error(
            `Weights of ${dir} are truncated or mismatched: ${group.paths.join(', ')} hold ${actual} bytes, ` +
              `model.json describes ${expected}. Re-save or re-convert the model.`,
          );
        }
        buffers.push(...groupBuffers);
        weightSpecs.push(...group.weights);
      }
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        trainingConfig: modelJson.trainingConfig,
        userDefinedMetadata: modelJson.userDefinedMetadata,
        weightSpecs,
        weightData: tf.io.concatenateArrayBuffers(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)),
      };
    },
  };
}

/** Saves a layers model (topology, weights, optional optimizer) to `dir`. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, opts: { includeOptimizer?: boolean } = {}): Promise<void> {
  await model.save(fileSaveHandler(dir), opts);
}

/** Loads a layers model saved by `saveLayersModel` (or any TF.js layers model folder). */
export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(dir));
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2, complex64: 8 };

function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytes = DTYPE_BYTES[dtype];
  if (bytes === undefined) throw new Error(`Unsupported weight dtype '${dtype}' for ${spec.name}.`);
  return count * bytes;
}

/**
 * Writes `files` into a fresh temporary sibling of `dir`, then swaps it into place. At every instant
 * either the old or the new complete folder exists under `dir` or `<dir>.old-*`.
 */
export function writeDirAtomically(dir: string, files: Record<string, string | Uint8Array>): void {
  const parent = path.dirname(path.resolve(dir));
  withPath(parent, 'creating the folder', () => fs.mkdirSync(parent, { recursive: true }));
  // Timestamp first: recovery picks the newest `.old-*` by it.
  const stamp = `${Date.now()}-${process.pid}`;
  const tmp = `${dir}.tmp-${stamp}`;
  withPath(dir, 'creating the folder', () => fs.mkdirSync(tmp));
  try {
    for (const [name, data] of Object.entries(files)) {
      // Errors name the file as the user will know it (inside `dir`), not the temporary folder.
      withPath(path.join(dir, name), 'writing', () => {
        fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
        const fd = fs.openSync(path.join(tmp, name), 'w');
        try {
          fs.writeFileSync(fd, data);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      });
    }
    const old = `${dir}.old-${stamp}`;
    const hadOld = fs.existsSync(dir);
    withPath(dir, 'renaming', () => {
      if (hadOld) fs.renameSync(dir, old);
      fs.renameSync(tmp, dir);
    });
    if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  // The new folder is complete: what killed saves left beside it is of no further use.
  removeLeftovers(dir);
}

/** A sibling `<name>.tmp-*` / `<name>.old-*` left by a save that was killed, with its size. */
export interface Leftover {
  path: string;
  bytes: number;
}

const MAX_PID = 4_194_304;

/** Whether the save that named `suffix` (`<stamp>-<pid>`, `<pid>-<stamp>` or `<pid>`) may still be running. */
function ownerAlive(suffix: string): boolean {
  const pids = suffix.split('-').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= MAX_PID);
  // This process is not saving `dir` now: the save that named it ended.
  return pids.some((pid) => pid !== process.pid && pidAlive(pid));
}

/** Bytes of the file `p`, or of every file under the folder `p` (links not followed); 0 when it does not exist. */
export function bytesUnder(p: string): number {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, e) => n + bytesUnder(path.join(p, e)), 0);
}

/**
 * Temporary and previous-version siblings of `target` (`<target>.tmp-*`, `<target>.old-*`) left by saves that were
 * killed, i.e. whose process is gone. A `.old-*` is a leftover only while `target` itself exists (else it is the
 * copy recoverInterruptedSave restores).
 */
export function findLeftovers(target: string): Leftover[] {
  const abs = path.resolve(target);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  if (!fs.existsSync(parent)) return [];
  const out: Leftover[] = [];
  for (const name of fs.readdirSync(parent)) {
    const m = name.startsWith(`${base}.`) ? /^\.(tmp|old)-([\d-]+)$/.exec(name.slice(base.length)) : null;
    if (!m || ownerAlive(m[2]!)) continue;
    if (m[1] === 'old' && !fs.existsSync(abs)) continue;
    const p = path.join(parent, name);
    out.push({ path: p, bytes: bytesUnder(p) });
  }
  return out;
}

function describeLeftovers(found: Leftover[]): string {
  const mb = found.reduce((n, l) => n + l.bytes, 0) / 1e6;
  return `${found.length} folder${found.length > 1 ? 's' : ''} (${mb.toFixed(1)} MB) left by interrupted saves: ${found.map((l) => path.basename(l.path)).join(', ')}`;
}

/** Deletes the leftovers of killed saves beside `target` and says so (console.warn); returns what was removed. */
export function removeLeftovers(target: string, warn: (message: string) => void = (m) => console.warn(m)): Leftover[] {
  const found = findLeftovers(target);
  for (const l of found) fs.rmSync(l.path, { recursive: true, force: true });
  if (found.length) warn(`note: removed ${describeLeftovers(found)} in ${path.dirname(path.resolve(target))}`);
  return found;
}

/**
 * Repairs what a save killed between its two renames leaves: no `dir`, but the previous complete
 * model at `<dir>.old-*`, which is moved back. Other leftovers of killed saves (`<dir>.tmp-*`, stale
 * `<dir>.old-*`) are reported; the next completed save removes them (a save still running in another
 * process is recognised by its live pid and left alone).
 */
export function recoverInterruptedSave(dir: string): void {
  const parent = path.dirname(path.resolve(dir));
  if (!fs.existsSync(parent)) return;
  const base = path.basename(path.resolve(dir));
  const savedAt = (n: string) => Number(n.slice(base.length + 5).split('-')[0]) || 0;
  const olds = fs.readdirSync(parent).filter((n) => n.startsWith(`${base}.old-`)).sort((a, b) => savedAt(a) - savedAt(b));
  if (!fs.existsSync(dir) && olds.length > 0) fs.renameSync(path.join(parent, olds[olds.length - 1]!), dir);
  const left = findLeftovers(dir);
  if (left.length) console.warn(`note: ${describeLeftovers(left)} beside ${dir}; the next save there removes them`);
}

/** Writes one file via a temporary sibling and a rename, so readers never see it half-written. */
export function writeFileAtomically(file: string, content: Uint8Array | string): void {
  withPath(path.dirname(path.resolve(file)), 'creating the folder', () => fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true }));
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    withPath(file, 'writing', () => {
      fs.writeFileSync(tmp, content);
      fs.renameSync(tmp, file);
    });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  // Temp files of killed writers (their process is gone) are removed quietly: they are small and never complete.
  for (const l of findLeftovers(file)) fs.rmSync(l.path, { force: true });
}

/** What a failed file-system call on `p` was doing, in words (`writing`, `creating the folder`, ...). */
export type FsAction = 'reading' | 'writing' | 'creating the folder' | 'renaming' | 'removing' | 'locking';

/**
 * The error `err` from `action` on `p`, rewritten so its message names the path and what went wrong (a descriptor
 * write's ENOSPC names no path; a read-only mount is not "does not exist"). The code stays, and `path` is set, so the
 * CLIs' fsError still recognises it. Errors that are not file-system errors pass through unchanged.
 */
export function namedFsError(err: unknown, p: string, action: FsAction): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || (e as { namedByIo?: boolean }).namedByIo) return err;
  // Node's recursive mkdir reports a read-only or forbidden parent as ENOENT: ask the nearest existing folder.
  const code = e.code === 'ENOENT' && action !== 'reading' ? (writeRefusal(p) ?? e.code) : e.code;
  const message = (() => {
    switch (code) {
      case 'ENOSPC':
        return `no space left on the device while ${action} ${p}: free some disk space (df -h) or choose another output folder`;
      case 'EDQUOT':
        return `disk quota exceeded while ${action} ${p}: free some space or choose another output folder`;
      case 'EROFS':
        return `${readOnlyRoot(p)} is read-only (${action} ${p}): choose another output folder`;
      case 'EACCES':
      case 'EPERM':
        return `permission denied ${action} ${p}: check its permissions (ls -l) or choose another output folder`;
      case 'ENOENT':
        return `${p} does not exist (${action} it)`;
      case 'ENOTDIR':
        return `a part of ${p} is a file, not a folder (${action} it)`;
      case 'EISDIR':
        return `${p} is a folder, not a file (${action} it)`;
      case 'ELOOP':
        return `${p} is a symbolic link that points to itself (a loop) (${action} it)`;
      default:
        return `${e.code} while ${action} ${p}: ${e.message.replace(/^[A-Z]+: /, '')}`;
    }
  })();
  const out = new Error(message) as NodeJS.ErrnoException & { namedByIo: boolean };
  out.code = code;
  out.errno = e.errno;
  out.syscall = e.syscall;
  out.path = p;
  out.namedByIo = true;
  out.cause = err;
  return out;
}

/** Why the nearest existing folder above `p` refuses writes (EROFS, EACCES), if it does. */
function writeRefusal(p: string): string | undefined {
  try {
    fs.accessSync(readOnlyRoot(p), fs.constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

/** The nearest existing folder of `p` (on a read-only mount, the folder the user chose or its parent). */
function readOnlyRoot(p: string): string {
  let cur = path.resolve(p);
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) cur = path.dirname(cur);
  return cur;
}

/** Runs `fn`, an action on `p`; a file-system error it throws names `p` and the action (see namedFsError). */
export function withPath<T>(p: string, action: FsAction, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw namedFsError(err, p, action);
  }
}

/**
 * Reads and parses a JSON file; a missing or damaged file is one Error naming it: `what` says what the file is
 * (`run file`, `checkpoint state`), e.g. "checkpoint state runs/a/models/stage1/state.json is damaged (not valid
 * JSON: Unexpected end of JSON input)".
 */
export function readJsonFile<T>(file: string, what: string): T {
  const text = withPath(file, 'reading', () => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw Object.assign(new Error(`${what} ${file} does not exist`), { code: 'ENOENT', path: file, namedByIo: true });
      throw err;
    }
  });
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    const empty = text.trim() === '' ? ', it is empty' : '';
    throw new Error(
      `${what} ${file} is damaged (not valid JSON${empty}: ${(err as Error).message}); it was probably cut short by a full disk or a kill: ` +
        `restore it, or delete the folder and run again`,
    );
  }
}

/** What a lock file holds: who is writing into the folder. */
export interface FolderLock {
  pid: number;
  command: string;
  started: string;
  host: string;
}

const LOCK_FILE = '.devise.lock';

/** Whether process `pid` exists (EPERM: it exists, owned by someone else). */
function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): FolderLock | undefined | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw namedFsError(err, file, 'reading');
  }
  try {
    const lock = JSON.parse(text) as FolderLock;
    return Number.isInteger(lock.pid) ? lock : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * Takes the one lock of output folder `dir` (creating the folder) for `command` (what the user typed, e.g.
 * `npm run train -- --out runs/a`), so two runs never write into one folder: a second run refuses, naming the
 * holder's PID and command. A lock left by a process that no longer exists (killed, crashed) is taken over. The same
 * process may lock a folder again (a notebook re-running a cell). Returns the release function (also run at exit).
 */
export function lockFolder(dir: string, command: string): () => void {
  withPath(dir, 'creating the folder', () => fs.mkdirSync(dir, { recursive: true }));
  const file = path.join(dir, LOCK_FILE);
  const mine: FolderLock = { pid: process.pid, command, started: new Date().toISOString(), host: os.hostname() };
  const content = `${JSON.stringify(mine)}\n`;
  // Written whole under a private name, then linked into place: link is atomic and fails when the lock exists, so
  // exactly one of two simultaneous runs gets it and nobody ever reads a half-written lock.
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  withPath(tmp, 'locking', () => fs.writeFileSync(tmp, content));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw namedFsError(err, file, 'locking');
      }
      const held = readLock(file);
      if (held === undefined) continue; // released meanwhile
      if (held !== 'unreadable' && held.pid === process.pid) {
        withPath(file, 'locking', () => fs.writeFileSync(file, content));
        break;
      }
      if (held !== 'unreadable' && pidAlive(held.pid) && held.host === os.hostname()) {
        throw new Error(
          `${dir} is in use by another run: PID ${held.pid} (${held.command}), started ${held.started}. ` +
            `Wait for it to finish, stop it, or choose another output folder (lock file ${file}).`,
        );
      }
      // Stale (its process is gone) or unreadable: move it aside, then check that what was moved is what was judged
      // stale: another run may have taken it over in between, and then its lock is put back and this run refuses.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw namedFsError(err, file, 'locking');
      }
      const moved = readLock(aside);
      if (moved && moved !== 'unreadable' && moved.pid !== process.pid && pidAlive(moved.pid) && moved.host === os.hostname()) {
        try {
          fs.linkSync(aside, file);
        } catch {
          /* someone else holds it now: refusing is still right */
        }
        fs.rmSync(aside, { force: true });
        throw new Error(`${dir} is in use by another run: PID ${moved.pid} (${moved.command}), started ${moved.started}. Wait for it to finish or choose another output folder.`);
      }
      fs.rmSync(aside, { force: true });
      const who = held === 'unreadable' ? 'an unreadable lock' : `a lock of PID ${held.pid} (${held.command}), which is no longer running`;
      console.warn(`note: ${dir} had ${who}; taking it over`);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    const held = readLock(file);
    if (held && held !== 'unreadable' && held.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return release;
}

/** The lock on `dir` held by a running process, if any (for messages and `--resume` checks). */
export function folderLockHolder(dir: string): FolderLock | undefined {
  const held = readLock(path.join(dir, LOCK_FILE));
  return held && held !== 'unreadable' && pidAlive(held.pid) ? held : undefined;
}
