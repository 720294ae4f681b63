/**
 * Builds data_samples/: a small AWA2-layout image set (JPEGImages/<class>/<class>_<id>.jpg plus
 * classes.txt, trainclasses.txt, testclasses.txt) from openly licensed emoji artwork on the npm
 * registry, so notebooks and the main job run offline. Each artwork set plays a different
 * "photographer". Reproducible: same packages + same seed → same files.
 *
 *   npm run make-samples                       # rewrites data_samples/ (devDependencies must be installed)
 *   npm run make-samples -- --out /tmp/s --size 128 --min 5 --seed 0
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { defineCli, runCli } from '../lib/cli';
import { readClassList } from '../lib/data/awa2';
import { Rng, deriveSeed, hashString } from '../lib/data/rng';

const ROOT = path.resolve(__dirname, '..');
const NM = path.join(ROOT, 'node_modules');

/** AWA2 class → emoji (code points, Fluent/CLDR file name). Approximate matches are marked in the README. */
const CLASS_EMOJI: Record<string, [string, string][]> = {
  'grizzly+bear': [['1F43B', 'bear']],
  'polar+bear': [['1F43B-200D-2744-FE0F', 'polar-bear']],
  'killer+whale': [['1F433', 'spouting-whale']],
  'humpback+whale': [['1F40B', 'whale']],
  beaver: [['1F9AB', 'beaver']],
  dalmatian: [['1F415', 'dog']],
  'german+shepherd': [['1F415-200D-1F9BA', 'service-dog']],
  chihuahua: [['1F436', 'dog-face']],
  'persian+cat': [['1F408', 'cat']],
  'siamese+cat': [['1F431', 'cat-face']],
  horse: [['1F40E', 'horse'], ['1F434', 'horse-face']],
  skunk: [['1F9A8', 'skunk']],
  tiger: [['1F405', 'tiger'], ['1F42F', 'tiger-face']],
  hippopotamus: [['1F99B', 'hippopotamus']],
  leopard: [['1F406', 'leopard']],
  moose: [['1FACE', 'moose']],
  'spider+monkey': [['1F412', 'monkey']],
  chimpanzee: [['1F435', 'monkey-face']],
  elephant: [['1F418', 'elephant']],
  gorilla: [['1F98D', 'gorilla']],
  ox: [['1F402', 'ox']],
  fox: [['1F98A', 'fox']],
  sheep: [['1F411', 'ewe']],
  seal: [['1F9AD', 'seal']],
  hamster: [['1F439', 'hamster']],
  squirrel: [['1F43F', 'chipmunk']],
  rhinoceros: [['1F98F', 'rhinoceros']],
  rabbit: [['1F407', 'rabbit'], ['1F430', 'rabbit-face']],
  bat: [['1F987', 'bat']],
  giraffe: [['1F992', 'giraffe']],
  wolf: [['1F43A', 'wolf']],
  rat: [['1F400', 'rat']],
  mouse: [['1F401', 'mouse'], ['1F42D', 'mouse-face']],
  otter: [['1F9A6', 'otter']],
  buffalo: [['1F403', 'water-buffalo']],
  zebra: [['1F993', 'zebra']],
  'giant+panda': [['1F43C', 'panda']],
  deer: [['1F98C', 'deer']],
  pig: [['1F416', 'pig'], ['1F437', 'pig-face']],
  lion: [['1F981', 'lion']],
  raccoon: [['1F99D', 'raccoon']],
  cow: [['1F404', 'cow'], ['1F42E', 'cow-face']],
  dolphin: [['1F42C', 'dolphin']],
};

interface ArtSet {
  id: string;
  pkg: string;
  artwork: string;
  license: string;
  /** The SVG text for an emoji, or null when this set lacks it. */
  svg: (codepoints: string, name: string) => string | null;
}

let notoSprite: string | undefined;
const readIf = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null);
const variants = (cp: string) => [cp, cp.replace(/-FE0F/g, '')];

const SETS: ArtSet[] = [
  {
    id: 'noto',
    pkg: '@svgmoji/noto',
    artwork: 'Google Noto Emoji',
    license: 'Apache-2.0',
    svg: (cp) => {
      notoSprite ??= fs.readFileSync(path.join(NM, '@svgmoji/noto/sprites/all.svg'), 'utf8');
      for (const id of variants(cp)) {
        const at = notoSprite.indexOf(`id="${id}"`);
        if (at < 0) continue;
        const start = notoSprite.lastIndexOf('<svg', at);
        return notoSprite.slice(start, notoSprite.indexOf('</svg>', at) + 6);
      }
      return null;
    },
  },
  {
    id: 'twemoji',
    pkg: '@twemoji/svg',
    artwork: 'Twemoji (Twitter, Inc. and contributors; jdecked/twemoji)',
    license: 'CC-BY-4.0',
    svg: (cp) => variants(cp).map((v) => readIf(path.join(NM, '@twemoji/svg', `${v.toLowerCase()}.svg`))).find((s) => s) ?? null,
  },
  ...(['modern', 'flat', 'high-contrast'] as const).map((style) => ({
    id: `fluent-${style}`,
    pkg: 'fluentui-emoji',
    artwork: `Microsoft Fluent Emoji (${style === 'modern' ? 'color' : style} style)`,
    license: 'MIT',
    svg: (_cp: string, name: string) => readIf(path.join(NM, 'fluentui-emoji/icons', style, `${name}.svg`)),
  })),
];

interface Sample {
  cls: string;
  set: ArtSet;
  cp: string;
  svg: string;
  /** 0 for the artwork itself; k > 0 for the k-th seeded re-staging added to reach --min. */
  restage: number;
}

async function render(s: Sample, size: number, seed: number): Promise<Buffer> {
  const rng = new Rng(deriveSeed(seed, hashString(s.cls), hashString(`${s.set.id}:${s.cp}`), s.restage));
  // A pale random backdrop, scale and position: the "photographer's" framing of the artwork.
  const bg = { r: 150 + rng.int(100), g: 150 + rng.int(100), b: 150 + rng.int(100) };
  const scale = rng.uniform(0.62, 0.9);
  const side = Math.round(size * scale);
  const left = rng.int(size - side + 1);
  const top = rng.int(size - side + 1);
  let art = sharp(Buffer.from(s.svg), { density: 300 }).resize(side, side, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } });
  if (s.restage > 0 && rng.bool(0.5)) art = art.flop();
  const fg = await art.png().toBuffer();
  return sharp({ create: { width: size, height: size, channels: 3, background: bg } })
    .composite([{ input: fg, left, top }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

export const cli = defineCli({
  command: 'npm run make-samples --',
  summary: 'Builds data_samples/ (an AWA2-layout image set) from openly licensed emoji artwork in devDependencies; reproducible per --seed.',
  flags: {
    out: { type: 'path', default: path.join(ROOT, 'data_samples'), placeholder: '<dir>', description: 'folder to (re)write' },
    meta: { type: 'path', default: path.join(ROOT, '..', 'shared', 'data', 'awa2-meta'), placeholder: '<dir>', description: 'AWA2 metadata folder (classes.txt, trainclasses.txt, testclasses.txt); else the lists in --out' },
    size: { type: 'integer', default: 128, placeholder: '<px>', description: 'image side in pixels' },
    min: { type: 'integer', default: 5, description: 'images per class at least (artworks are re-staged to reach it)' },
    seed: { type: 'integer', default: 0, description: 'seed of backgrounds and placement' },
  },
  examples: ['npm run make-samples', 'npm run make-samples -- --out /tmp/s --size 128 --min 5 --seed 0'],
});

async function main(): Promise<void> {
  const { values } = cli.parse();
  const { size, min, seed } = values;
  const out = path.resolve(values.out);
  // The three class lists come from the real AWA2 metadata (MIT), or from an existing sample set.
  const listDir = fs.existsSync(path.join(values.meta, 'classes.txt')) ? values.meta : out;
  const classesTxt = fs.readFileSync(path.join(listDir, 'classes.txt'), 'utf8');
  const all = readClassList(path.join(listDir, 'classes.txt'));
  const train = readClassList(path.join(listDir, 'trainclasses.txt'));
  const test = readClassList(path.join(listDir, 'testclasses.txt'));
  for (const cls of Object.keys(CLASS_EMOJI)) if (!all.includes(cls)) throw new Error(`${cls} is not an AWA2 class`);

  const samples: Sample[] = [];
  const missing: string[] = [];
  for (const cls of all.filter((c) => CLASS_EMOJI[c])) {
    const own: Sample[] = [];
    for (const [cp, name] of CLASS_EMOJI[cls]!) {
      for (const set of SETS) {
        const svg = set.svg(cp, name);
        if (svg) own.push({ cls, set, cp, svg, restage: 0 });
        else missing.push(`${set.id}:${cls}:${cp}`);
      }
    }
    const distinct = own.length;
    for (let k = 0; own.length < min && distinct > 0; k++) own.push({ ...own[k % distinct]!, restage: 1 + Math.floor(k / distinct) });
    samples.push(...own);
  }

  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const rows = ['file\tclass\tartwork_set\tcodepoints\tpackage\tlicense\trestaged'];
  const perClass = new Map<string, number>();
  for (const s of samples) {
    const id = 10001 + (perClass.get(s.cls) ?? 0);
    perClass.set(s.cls, id - 10000);
    const rel = path.join('JPEGImages', s.cls, `${s.cls}_${id}.jpg`);
    fs.mkdirSync(path.join(tmp, 'JPEGImages', s.cls), { recursive: true });
    fs.writeFileSync(path.join(tmp, rel), await render(s, size, seed));
    rows.push([rel, s.cls, s.set.id, s.cp, s.set.pkg, s.set.license, s.restage ? 'yes' : 'no'].join('\t'));
  }
  const present = new Set(perClass.keys());
  fs.writeFileSync(path.join(tmp, 'classes.txt'), classesTxt);
  fs.writeFileSync(path.join(tmp, 'trainclasses.txt'), train.filter((c) => present.has(c)).join('\n') + '\n');
  fs.writeFileSync(path.join(tmp, 'testclasses.txt'), test.filter((c) => present.has(c)).join('\n') + '\n');
  fs.writeFileSync(path.join(tmp, 'manifest.tsv'), rows.join('\n') + '\n');
  // Keep hand-written files (README.md) and swap the generated ones in.
  for (const keep of ['README.md']) if (fs.existsSync(path.join(out, keep))) fs.copyFileSync(path.join(out, keep), path.join(tmp, keep));
  fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(tmp, out);

  const restaged = samples.filter((s) => s.restage).length;
  console.log(`${samples.length} images (${samples.length - restaged} distinct artworks + ${restaged} re-staged) in ${present.size} classes → ${out}`);
  console.log(`test classes with images: ${test.filter((c) => present.has(c)).join(', ')}`);
  if (missing.length) console.log(`artworks a set lacks: ${missing.join(', ')}`);
}

runCli(main);
