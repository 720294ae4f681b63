/**
 * A small, safe Python unpickler (protocols 0–5, binary opcodes) for PyTorch state dicts.
 *
 *   const value = unpickle(bytes, { findClass, persistentLoad });
 *
 * It never executes anything: every GLOBAL is resolved through `findClass`, which returns a JS
 * function (or throws for a class the caller does not allow), exactly as `pickle.Unpickler.find_class`
 * is meant to be used for untrusted input. Objects built by REDUCE/NEWOBJ without a known function
 * become `PickleObject`s with their module, name, args and state.
 */

/** A Python object the unpickler could not map to a JS value (its class and constructor data kept). */
export class PickleObject {
  state: unknown = undefined;
  constructor(readonly module: string, readonly name: string, readonly args: unknown[]) {}
}

/** A Python global (module + name) resolved by `findClass`; called with the REDUCE args. */
export type PickleCallable = (...args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** Resolves `module.name`; throw to refuse a class. */
  findClass: (module: string, name: string) => PickleCallable;
  /** Resolves a persistent id (torch storages). */
  persistentLoad?: (pid: unknown) => unknown;
  /** Name used in error messages. */
  source?: string;
}

const MARK = Symbol('mark');

/** Unpickles one pickle starting at `start`; returns the value and the offset after its STOP. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const source = opts.source ?? 'pickle';
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const decoder = new TextDecoder('utf-8');
  let pos = start;

  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg} at byte ${pos} (the file is truncated or not a PyTorch/pickle file).`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`unexpected end of data (wanted ${n} more bytes)`);
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail('stack underflow') : stack.pop());
  const popMark = (): unknown[] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      if (stack[i] === MARK) return stack.splice(i).slice(1);
    }
    return fail('MARK not found');
  };
  const top = () => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1]);
  const setItems = (target: unknown, kv: unknown[]) => {
    for (let i = 0; i < kv.length; i += 2) {
      if (target instanceof Map) target.set(kv[i], kv[i + 1]);
      else fail('SETITEM on a non-dict');
    }
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) fail('APPEND on a non-list');
    (target as unknown[]).push(...items);
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    if (typeof fn !== 'function') fail('REDUCE on a non-callable');
    return (fn as PickleCallable)(...args);
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME
      case 0x2e: return { value: pop(), end: pos }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longFromBytes(take(u8()))); break; // LONG1
      case 0x8b: stack.push(longFromBytes(take(u32()))); break; // LONG4
      case 0x49: { // INT (protocol 0), also bools as 01/00
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: stack.push(Number.parseInt(line().replace(/L$/, ''), 10)); break; // LONG (text)
      case 0x47: need(8); pos += 8; stack.push(view.getFloat64(pos - 8, false)); break; // BINFLOAT
      case 0x46: stack.push(Number.parseFloat(line())); break; // FLOAT (text)
      case 0x58: stack.push(decoder.decode(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(decoder.decode(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(view.getBigUint64(pos, true)); pos += 8; stack.push(decoder.decode(take(n))); break; } // BINUNICODE8
      case 0x54: stack.push(decoder.decode(take(i32()))); break; // BINSTRING
      case 0x55: stack.push(decoder.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays)
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const kv = popMark(); const m = new Map(); setItems(m, kv); stack.push(m); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (s instanceof Set) items.forEach((i) => s.add(i)); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x63: { const module = line(); const name = line(); stack.push(opts.findClass(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop() as string; const module = pop() as string; stack.push(opts.findClass(module, name)); break; } // STACK_GLOBAL
      case 0x52: { const args = pop() as unknown[]; const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop() as unknown[]; const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD: obj.__setstate__(state) or obj.__dict__.update(state)
        const state = pop();
        const obj = top();
        if (obj instanceof PickleObject) obj.state = state;
        else if (obj instanceof Map && state instanceof Map) {
          // An OrderedDict's attributes (torch's `_metadata`) arrive as BUILD state; keep them aside.
          (obj as Map<unknown, unknown> & { attributes?: unknown }).attributes = state;
        }
        break;
      }
      case 0x51: { // BINPERSID
        if (!opts.persistentLoad) fail('persistent id without a persistent_load');
        stack.push(opts.persistentLoad!(pop()));
        break;
      }
      case 0x50: { // PERSID (text)
        if (!opts.persistentLoad) fail('persistent id without a persistent_load');
        stack.push(opts.persistentLoad!(line()));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number.parseInt(line(), 10), top()); break; // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(key)) fail(`memo key ${key} missing`);
        stack.push(memo.get(key));
        break;
      }
      default:
        pos--;
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
}
