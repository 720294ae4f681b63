/**
 * AWA2 class attributes (85-d predicate matrix, the Xian et al. benchmark's class embedding) as a `LabelSource`.
 *
 *   const src = attributeSource('../shared/data/awa2-meta');          // continuous, L2-normalised
 *   src.embed(['sheep', 'blue+whale']).vectors;                        // 2 × 85
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { labelWords, normalizeRows, type LabelSource } from './labels';

/** The AWA2 attribute table: `matrix[i]` (85 values) describes `classes[i]`. */
export interface Awa2Attributes {
  classes: string[];
  predicates: string[];
  matrix: number[][];
}

/** Reads an AWA2 `<index>\t<name>` list (classes.txt, predicates.txt), tolerant of leading spaces and CRLF. */
function readIndexedNames(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim()).map((l, i) => {
    const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(l);
    if (!m) throw new Error(`${file}:${i + 1}: expected '<index> <name>', got '${l}'`);
    return m[2]!;
  });
}

/** Reads `classes.txt`, `predicates.txt` and `predicate-matrix-{continuous|binary}.txt` from an AWA2 metadata folder. */
export function readAwa2Attributes(dir: string, opts: { binary?: boolean } = {}): Awa2Attributes {
  const classes = readIndexedNames(path.join(dir, 'classes.txt'));
  const predicates = readIndexedNames(path.join(dir, 'predicates.txt'));
  const file = path.join(dir, `predicate-matrix-${opts.binary ? 'binary' : 'continuous'}.txt`);
  const matrix = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim()).map((l, i) => {
    const row = l.trim().split(/\s+/).map(Number);
    if (row.length !== predicates.length || row.some(Number.isNaN)) throw new Error(`${file}:${i + 1}: expected ${predicates.length} numbers`);
    return row;
  });
  if (matrix.length !== classes.length) throw new Error(`${file}: ${matrix.length} rows for ${classes.length} classes in classes.txt`);
  return { classes, predicates, matrix };
}

const key = (label: string) => labelWords(label).map((w) => w.toLowerCase()).join('+');

/**
 * A `LabelSource` of AWA2 attributes. Missing values (-1 in the continuous table) become 0, then each class
 * vector is L2-normalised unless `normalize: false`. Only the 50 AWA2 classes can be embedded.
 */
export function attributeSource(dir: string, opts: { binary?: boolean; normalize?: boolean } = {}): LabelSource {
  const att = readAwa2Attributes(dir, opts);
  const row = new Map(att.classes.map((c, i) => [key(c), i]));
  const dim = att.predicates.length;
  return {
    name: opts.binary ? 'awa2-attributes-binary' : 'awa2-attributes',
    dim,
    embed(labels) {
      const missing = labels.filter((l) => !row.has(key(l)));
      if (missing.length) throw new Error(`No AWA2 attributes for ${missing.map((m) => `'${m}'`).join(', ')}: attributes exist only for the 50 classes in ${path.join(dir, 'classes.txt')}`);
      const vectors = new Float32Array(labels.length * dim);
      labels.forEach((l, i) => vectors.set(att.matrix[row.get(key(l))!]!.map((v) => (v < 0 ? 0 : v)), i * dim));
      if (opts.normalize ?? true) normalizeRows(vectors, dim);
      return { labels: [...labels], dim, vectors, how: labels.map((l) => `attributes:${att.classes[row.get(key(l))!]}`) };
    },
  };
}

/** Seen (train+val) and unseen (test) class names of an AWA2 zero-shot split. */
export interface Awa2Split {
  seen: string[];
  unseen: string[];
}

/**
 * Reads an AWA2 class split from the metadata folder: `standard` (trainclasses.txt / testclasses.txt, the original
 * Lampert split) or `proposed` (Xian et al.: proposed-split/trainvalclasses.txt / testclasses.txt, no ImageNet-1k overlap).
 */
export function readAwa2Split(dir: string, split: 'standard' | 'proposed'): Awa2Split {
  const list = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const s = split === 'standard' ? { seen: list('trainclasses.txt'), unseen: list('testclasses.txt') }
    : { seen: list('proposed-split/trainvalclasses.txt'), unseen: list('proposed-split/testclasses.txt') };
  const both = s.seen.filter((c) => s.unseen.includes(c));
  if (both.length) throw new Error(`${dir}: ${split} split lists ${both.join(', ')} as both seen and unseen`);
  return s;
}
