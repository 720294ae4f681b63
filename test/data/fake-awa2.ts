/** Builds a fake AWA2 tree (tiny non-image files named like AWA2's JPEGs) for the transfer tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FAKE_CLASSES = ['antelope', 'grizzly+bear', 'killer+whale', 'beaver', 'dalmatian', 'persian+cat'];

/** Writes `<root>/JPEGImages/<class>/<class>_<id>.jpg` (perClass + i files for class i) and class lists; returns name → content. */
export function makeFakeAwa2(root: string, perClass = 60): Map<string, string> {
  const contents = new Map<string, string>();
  FAKE_CLASSES.forEach((c, ci) => {
    const dir = path.join(root, 'JPEGImages', c);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perClass + ci; i++) {
      const name = `${c}_${String(10001 + i).padStart(5, '0')}.jpg`;
      const body = `${c} ${i} ${'x'.repeat(i % 17)}`;
      fs.writeFileSync(path.join(dir, name), body);
      contents.set(`${c}/${name}`, body);
    }
  });
  fs.writeFileSync(path.join(root, 'classes.txt'), FAKE_CLASSES.map((c, i) => `${String(i + 1).padStart(7)}\t${c}`).join('\n') + '\n');
  fs.writeFileSync(path.join(root, 'trainclasses.txt'), FAKE_CLASSES.slice(0, 4).join('\n') + '\n');
  fs.writeFileSync(path.join(root, 'testclasses.txt'), FAKE_CLASSES.slice(4).join('\n') + '\n');
  return contents;
}

/** Every file under `dir` as 'class/name' → content (temp and journal files included, so leftovers show). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const c of fs.readdirSync(dir)) {
    const sub = path.join(dir, c);
    if (!fs.statSync(sub).isDirectory()) {
      out.set(c, fs.readFileSync(sub, 'utf8'));
      continue;
    }
    for (const f of fs.readdirSync(sub)) out.set(`${c}/${f}`, fs.readFileSync(path.join(sub, f), 'utf8'));
  }
  return out;
}
