import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTorchStateDict, readTorchStateDict } from '../../lib/weights/torch';
import { unpickle } from '../../lib/weights/pickle';
import { runOracle, type Oracle } from '../models/oracle';

let o: Oracle;
beforeAll(() => {
  o = runOracle(['--reader-only']);
});
afterAll(() => o?.cleanup());

describe('readTorchStateDict on files written by torch 1.13', () => {
  for (const format of ['', '-legacy']) {
    it(`${format ? 'legacy' : 'zip'} format: dtypes, views with strides and offsets, shared storage, scalars`, () => {
      const sd = readTorchStateDict(o.file(`odd${format}.pth`));
      const want = o.manifest['odd'] as Record<string, { shape: number[]; values: number[] }>;
      expect([...sd.keys()].sort()).toEqual(Object.keys(want).sort());
      const dtypes = Object.fromEntries([...sd].map(([k, t]) => [k, t.dtype]));
      expect(dtypes).toEqual({ f64: 'float64', f16: 'float16', i64: 'int64', u8: 'uint8', bool: 'bool', transposed: 'float32', slice: 'float32', shared: 'float32', scalar: 'float32' });
      for (const [k, w] of Object.entries(want)) {
        const t = sd.get(k)!;
        expect(t.shape, k).toEqual(w.shape);
        // Floats come back as float32: compare at float32 precision; integers exactly.
        expect(Array.from(t.data), k).toEqual(w.values.map((v) => (t.data instanceof Float32Array ? Math.fround(v) : v)));
      }
    });
  }

  it('refuses a pickled nn.Module with how to save a state dict', () => {
    expect(() => readTorchStateDict(o.file('module.pth'))).toThrow(/holds a pickled torch.nn.modules.linear.Linear object.*state_dict\(\)/);
  });

  it('names the file for truncated or foreign bytes', () => {
    const bytes = new Uint8Array(fs.readFileSync(o.file('odd-legacy.pth')));
    expect(() => parseTorchStateDict(bytes.subarray(0, bytes.length - 10), 'x.pth')).toThrow(/x\.pth: .*truncated/);
    expect(() => parseTorchStateDict(bytes.subarray(0, 40), 'y.pth')).toThrow(/y\.pth: .*(truncated|end of data)/);
    expect(() => parseTorchStateDict(new TextEncoder().encode('hello world, not a pickle'), 'z.pth')).toThrow(/z\.pth/);
    const zip = new Uint8Array(fs.readFileSync(o.file('odd.pth')));
    expect(() => parseTorchStateDict(zip.subarray(0, zip.length / 2), 'w.pth')).toThrow(/w\.pth: .*(truncated|corrupt)/);
    expect(() => readTorchStateDict('/nonexistent/q.pth')).toThrow(/q\.pth: no such file/);
  });
});

describe('unpickle (hand-assembled protocol-2 pickles)', () => {
  const refuse = (m: string, n: string): never => {
    throw new Error(`refused ${m}.${n}`);
  };

  const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

  it('decodes scalars, strings, bytes, containers, memo and big/negative ints (protocols 2 and 4)', () => {
    // pickle.dumps({'a': [1, -2, 3.5, True, None, 70000], 'b': (b'xy', 'é'), 'c': 2**70, 'd': -1, 'e': ('same',)*2}, protocol=4)
    const p4 = hex('8004955b000000000000007d94288c0161945d94284b014afeffffff47400c000000000000884e4a70110100658c01629443027879948c02c3a99486948c0163948a090000000000000000408c0164944affffffff8c0165948c0473616d6594680a8694752e');
    const { value, end } = unpickle(p4, { findClass: refuse });
    expect(end).toBe(p4.length);
    const m = value as Map<string, unknown>;
    expect(m.get('a')).toEqual([1, -2, 3.5, true, null, 70000]);
    expect(m.get('b')).toEqual([Uint8Array.from([0x78, 0x79]), 'é']);
    expect(m.get('c')).toBe(2n ** 70n);
    expect(m.get('d')).toBe(-1);
    expect(m.get('e')).toEqual(['same', 'same']);
    // The same without bytes, protocol 2 (BINPUT/BINUNICODE instead of MEMOIZE/SHORT_BINUNICODE).
    const p2 = hex('80027d71002858010000006171015d7102284b014afeffffff47400c000000000000884e4a701101006558010000006371038a0900000000000000004058010000006471044affffffff752e');
    expect(unpickle(p2, { findClass: refuse }).value).toEqual(new Map<string, unknown>([['a', [1, -2, 3.5, true, null, 70000]], ['c', 2n ** 70n], ['d', -1]]));
  });

  it('never runs globals it was not given: a pickle calling os.system is refused', () => {
    // pickle.dumps(R(), protocol=2) where R.__reduce__ returns (os.system, ('echo pwned',))
    const evil = hex('800263706f7369780a73797374656d0a7100580a0000006563686f2070776e656471018571025271032e');
    expect(() => unpickle(evil, { findClass: refuse })).toThrow(/refused posix\.system/);
    // The torch reader keeps unknown classes as inert records and then rejects the file as not a state dict.
    // The same pickle as the body of a legacy .pth (magic, protocol 1001, sys_info, it, storage keys []).
    const legacy = hex('80028a0a6cfc9c46f9206aa850192e80024de9032e80027d71002e800263706f7369780a73797374656d0a7100580a0000006563686f2070776e656471018571025271032e80025d71002e');
    expect(() => parseTorchStateDict(legacy, 'evil.pth')).toThrow(/evil\.pth: the pickle holds a posix\.system object, not a state dict/);
  });
});
