import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers';

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('lib/ import rules', () => {
  const files = tsFiles(path.join(ROOT, 'lib'));
  const relImports = (file: string) =>
    [...fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']*)'/g)].map((m) => m[1]!);

  it('imports files, never folders (tslab resolves a local import X only as X.ts)', () => {
    const folderImports = files.flatMap((f) =>
      relImports(f).filter((spec) => fs.existsSync(path.resolve(path.dirname(f), spec)) && fs.statSync(path.resolve(path.dirname(f), spec)).isDirectory()).map((spec) => `${path.relative(ROOT, f)}: '${spec}'`),
    );
    expect(folderImports).toEqual([]);
  });

  it('never imports from notebooks/, utils/, bench/ or test/', () => {
    const outward = files.flatMap((f) =>
      relImports(f).filter((spec) => /^(notebooks|utils|bench|test)(\/|$)/.test(path.relative(ROOT, path.resolve(path.dirname(f), spec)))).map((spec) => `${path.relative(ROOT, f)}: '${spec}'`),
    );
    expect(outward).toEqual([]);
  });

  it('has no import cycle (type-only imports included): lib/train, lib/plots and the rest form a DAG', () => {
    const graph = new Map(files.map((f) => [f, relImports(f).map((spec) => path.resolve(path.dirname(f), spec) + '.ts').filter((t) => fs.existsSync(t))]));
    // Tarjan's strongly connected components: every component of more than one file is a cycle.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
      if (low.get(v) === idx.get(v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(path.relative(ROOT, w));
        } while (w !== v);
        if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
      }
    };
    for (const f of files) if (!idx.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
