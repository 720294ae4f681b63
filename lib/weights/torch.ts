/**
 * Reads PyTorch `.pth` state dicts without Python: the zip format (torch ≥ 1.6, the default) and the
 * legacy pickle-stream format (`_use_new_zipfile_serialization=False`, e.g. torchvision's
 * `squeezenet1_1-b8a52dc0.pth`).
 *
 *   const sd = readTorchStateDict('resnet34.pth');   // Map<'layer1.0.conv1.weight', TorchTensor>
 *   sd.get('fc.weight')!.shape                        // [1000, 512]
 *
 * Only the globals a state dict needs are allowed (OrderedDict, tensor/parameter rebuilders, storage
 * types); anything else is refused, so a malicious pickle cannot run code.
 */
import * as fs from 'node:fs';
import { unzipSync } from 'fflate';
import { PickleObject, unpickle, type PickleCallable } from './pickle';

/** A tensor from a state dict: floats as Float32Array, integers/bools as Float64Array (exact below 2^53). */
export interface TorchTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array;
}

interface StorageType { dtype: string; bytes: number; float: boolean }

const STORAGES: Record<string, StorageType> = {
  FloatStorage: { dtype: 'float32', bytes: 4, float: true },
  DoubleStorage: { dtype: 'float64', bytes: 8, float: true },
  HalfStorage: { dtype: 'float16', bytes: 2, float: true },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2, float: true },
  LongStorage: { dtype: 'int64', bytes: 8, float: false },
  IntStorage: { dtype: 'int32', bytes: 4, float: false },
  ShortStorage: { dtype: 'int16', bytes: 2, float: false },
  CharStorage: { dtype: 'int8', bytes: 1, float: false },
  ByteStorage: { dtype: 'uint8', bytes: 1, float: false },
  BoolStorage: { dtype: 'bool', bytes: 1, float: false },
};

interface Storage { type: StorageType; key: string; numel: number; bytes?: Uint8Array }
/** A tensor whose storage bytes may arrive after the pickle (legacy format). */
interface LazyTensor { storage: Storage; offset: number; shape: number[]; stride: number[] }

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Reads a `.pth` file into a name → tensor map (unwrapping `{'state_dict': ...}` / `{'model': ...}` checkpoints). */
export function readTorchStateDict(file: string): Map<string, TorchTensor> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file. Download it with \`npm run weights -- download <name>\`.`);
  return parseTorchStateDict(new Uint8Array(fs.readFileSync(file)), file);
}

/** Parses `.pth` bytes; `source` names the file in errors. */
export function parseTorchStateDict(bytes: Uint8Array, source = '.pth'): Map<string, TorchTensor> {
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  const isTar = bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
  if (isTar) {
    throw new Error(`${source}: this is PyTorch's pre-0.4 tar format, which is not supported. Re-save it with a recent torch: torch.save(torch.load(f), f).`);
  }
  const root = isZip ? loadZip(bytes, source) : loadLegacy(bytes, source);
  return toStateDict(root, source);
}

function findClass(source: string): (module: string, name: string) => PickleCallable {
  return (module, name) => {
    const qual = `${module}.${name}`;
    if (qual === 'collections.OrderedDict') return (items?: unknown) => new Map(Array.isArray(items) ? (items as [unknown, unknown][]) : []);
    if (qual === 'torch._utils._rebuild_tensor_v2' || qual === 'torch._utils._rebuild_tensor') {
      return (storage, offset, shape, stride) => ({ storage, offset, shape, stride }) as LazyTensor;
    }
    if (qual === 'torch._utils._rebuild_parameter' || qual === 'torch._utils._rebuild_parameter_with_state') return (data) => data;
    // The persistent id holds the storage class itself (never called): tag it with its element type.
    if (module === 'torch' && STORAGES[name]) return Object.assign(() => STORAGES[name], { storageType: STORAGES[name] });
    if (qual === 'torch.device') return (d) => d;
    // A whole pickled nn.Module (torch.save(model)) lands here; it would need Python code to rebuild.
    return (...args: unknown[]) => {
      if (module.startsWith('torch.nn') || module.startsWith('torchvision')) {
        throw new Error(`${source}: holds a pickled ${qual} object, not a state dict. In Python save model.state_dict() instead of the model.`);
      }
      return new PickleObject(module, name, args);
    };
  };
}

function storageFromPid(pid: unknown, source: string, storages: Map<string, Storage>): Storage {
  if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`${source}: unsupported persistent id ${JSON.stringify(pid)}.`);
  const [, cls, key, , numel] = pid as [string, { storageType?: StorageType } | null, string | number, string, number];
  const type = cls?.storageType;
  if (!type) throw new Error(`${source}: unsupported storage type in persistent id ${String(pid)}.`);
  const k = String(key);
  let s = storages.get(k);
  if (!s) storages.set(k, (s = { type, key: k, numel: Number(numel) }));
  return s;
}

function loadZip(bytes: Uint8Array, source: string): unknown {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (err) {
    throw new Error(`${source}: cannot read the zip archive (${(err as Error).message}); the file is truncated or corrupt. Download it again.`);
  }
  const pkl = Object.keys(files).find((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new Error(`${source}: a zip file without <name>/data.pkl; not a PyTorch zip checkpoint.`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const storages = new Map<string, Storage>();
  const { value } = unpickle(files[pkl]!, {
    source,
    findClass: findClass(source),
    persistentLoad: (pid) => {
      const s = storageFromPid(pid, source, storages);
      const data = files[`${prefix}data/${s.key}`];
      if (!data) throw new Error(`${source}: storage ${prefix}data/${s.key} is missing from the archive (truncated file?).`);
      if (data.byteLength < s.numel * s.type.bytes) {
        throw new Error(`${source}: storage ${s.key} holds ${data.byteLength} bytes, expected ${s.numel * s.type.bytes} (truncated file?).`);
      }
      s.bytes = data;
      return s;
    },
  });
  return value;
}

function loadLegacy(bytes: Uint8Array, source: string): unknown {
  const opts = { source, findClass: findClass(source) };
  let pos = 0;
  const next = (persistentLoad?: (pid: unknown) => unknown) => {
    const r = unpickle(bytes, { ...opts, persistentLoad }, pos);
    pos = r.end;
    return r.value;
  };
  const magic = next();
  if (magic !== LEGACY_MAGIC) {
    throw new Error(`${source}: not a PyTorch file (neither a zip archive nor the legacy magic number).`);
  }
  const protocol = next();
  if (protocol !== 1001) throw new Error(`${source}: unsupported legacy protocol version ${String(protocol)}.`);
  next(); // sys_info: endianness and type sizes; torch has only ever written little-endian here.
  const storages = new Map<string, Storage>();
  const root = next((pid) => storageFromPid(pid, source, storages));
  const keys = next() as unknown[];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys) {
    const s = storages.get(String(key));
    if (!s) throw new Error(`${source}: storage ${String(key)} listed but never referenced.`);
    if (pos + 8 > bytes.length) throw new Error(`${source}: truncated before storage ${s.key} (file ends at byte ${bytes.length}).`);
    const numel = Number(view.getBigInt64(pos, true));
    pos += 8;
    const n = numel * s.type.bytes;
    if (pos + n > bytes.length) {
      throw new Error(`${source}: storage ${s.key} needs ${n} bytes at byte ${pos} but the file ends at ${bytes.length}; the file is truncated. Download it again.`);
    }
    s.bytes = bytes.subarray(pos, pos + n);
    pos += n;
  }
  return root;
}

function toStateDict(root: unknown, source: string): Map<string, TorchTensor> {
  let dict = root;
  if (dict instanceof Map && !dict.has('state_dict') && dict.has('model') && dict.get('model') instanceof Map) dict = dict.get('model');
  if (dict instanceof Map && dict.get('state_dict') instanceof Map) dict = dict.get('state_dict');
  if (!(dict instanceof Map)) throw new Error(`${source}: the pickle holds ${describe(dict)}, not a state dict (a dict of tensors).`);
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of dict) {
    if (typeof k !== 'string' || !isLazyTensor(v)) continue;
    out.set(k, materialize(v, `${source}:${k}`));
  }
  if (out.size === 0) throw new Error(`${source}: the dict holds no tensors.`);
  return out;
}

function describe(v: unknown): string {
  return v instanceof PickleObject ? `a ${v.module}.${v.name} object` : v === null ? 'None' : typeof v;
}

function isLazyTensor(v: unknown): v is LazyTensor {
  return typeof v === 'object' && v !== null && 'storage' in v && 'stride' in v;
}

function materialize(t: LazyTensor, where: string): TorchTensor {
  const { storage, offset, shape, stride } = t;
  if (!storage.bytes) throw new Error(`${where}: storage ${storage.key} has no data (truncated file?).`);
  const numel = shape.reduce((a, b) => a * b, 1);
  let maxIndex = offset;
  shape.forEach((d, i) => (maxIndex += d > 0 ? (d - 1) * stride[i]! : 0));
  if (numel > 0 && maxIndex >= storage.numel) throw new Error(`${where}: view reaches element ${maxIndex} of a ${storage.numel}-element storage.`);
  if (storage.type.dtype === 'float32' && isContiguous(shape, stride)) {
    // The common case: one copy (which also aligns the bytes for Float32Array).
    const bytes = storage.bytes.slice(offset * 4, (offset + numel) * 4);
    return { dtype: 'float32', shape: [...shape], data: new Float32Array(bytes.buffer, 0, numel) };
  }
  const read = reader(storage);
  const data = storage.type.float ? new Float32Array(numel) : new Float64Array(numel);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let e = offset;
    for (let d = 0; d < shape.length; d++) e += idx[d]! * stride[d]!;
    data[i] = read(e);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { dtype: storage.type.dtype, shape: [...shape], data };
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

function reader(s: Storage): (i: number) => number {
  const b = s.bytes!;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (s.type.dtype) {
    case 'float32': return (i) => v.getFloat32(i * 4, true);
    case 'float64': return (i) => v.getFloat64(i * 8, true);
    case 'float16': return (i) => halfToFloat(v.getUint16(i * 2, true));
    case 'bfloat16': return (i) => { const f = new DataView(new ArrayBuffer(4)); f.setUint32(0, v.getUint16(i * 2, true) << 16); return f.getFloat32(0); };
    case 'int64': return (i) => Number(v.getBigInt64(i * 8, true));
    case 'int32': return (i) => v.getInt32(i * 4, true);
    case 'int16': return (i) => v.getInt16(i * 2, true);
    case 'int8': return (i) => v.getInt8(i);
    default: return (i) => v.getUint8(i); // uint8, bool
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
