/**
 * Pretrained weights from the command line.
 *
 *   npm run weights -- download resnet34 [--dir models/pretrained]      # or --url U --out F [--sha256 H]
 *   npm run weights -- convert squeezenet1_1-b8a52dc0.pth --arch squeezenet1_1 --out models/squeezenet1_1 [--size 224]
 *   npm run weights -- summary --arch resnet34 [--head embedding --dim 300 | --head classifier --classes 40] [--json]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend/index';
import { defineCli, runCli, UserError, userPath } from '../lib/cli';
import { convertWeights, createModel, modelSummary, saveModel, type AnyHead, type Arch } from '../lib/models/index';
import { ARCHS } from '../lib/models/registry';
import { downloadFile } from '../lib/weights/download';

const ROOT = path.resolve(__dirname, '..');

export const cli = defineCli({
  command: 'npm run weights --',
  summary: 'Pretrained weights: download them (checksummed, resumable), convert a .pth/.h5 into a saved model, or summarise an architecture.',
  positionals: '<download|convert|summary> [name|file]',
  commands: {
    download: '<name> from models/pretrained.json (or --url U --out F [--sha256 H]) into --dir',
    convert: '<file.pth|file.h5> --arch A --out <dir>: a saved TF.js model with the weights and their preprocessing',
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
    'npm run weights -- convert squeezenet1_1-b8a52dc0.pth --arch squeezenet1_1 --out models/squeezenet1_1',
    'npm run weights -- summary --arch resnet34 --head embedding --dim 300',
  ],
});

interface PretrainedEntry { url: string; file: string; sha256?: string; sha256Prefix?: string }

async function main(argv: string[]): Promise<void> {
  const { values: v, positionals: [command, arg] } = cli.parse(argv);
  const num = (n: number | undefined) => n;

  if (command === 'download') {
    let entry: PretrainedEntry;
    let dest: string;
    if (v.url) {
      if (!v.out) throw new UserError('download --url needs --out <file>');
      entry = { url: v.url, file: path.basename(v.out), sha256: v.sha256 };
      dest = v.out;
    } else {
      const table = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'pretrained.json'), 'utf8')) as Record<string, PretrainedEntry>;
      const names = Object.keys(table).filter((k) => !k.startsWith('_'));
      if (!arg || !table[arg]) throw new UserError(`download ${arg ?? '<name>'}: name one of ${names.join(', ')} (models/pretrained.json), or pass --url and --out`);
      entry = table[arg]!;
      dest = path.join(v.dir ?? path.join(ROOT, 'models', 'pretrained'), entry.file);
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
    if (!v.arch) throw new UserError('summary needs --arch squeezenet1_1|resnet34', 'e.g. npm run weights -- summary --arch resnet34 --head embedding --dim 300');
    const m = await createModel(v.arch as Arch, { head: (v.head as AnyHead | undefined) ?? 'embedding', dim: num(v.dim), classes: num(v.classes), inputSize: num(v.size) });
    const s = modelSummary(m);
    if (v.json) return console.log(JSON.stringify(s));
    console.log(`${s.arch} + ${s.head.kind} head (${s.head.units}): ${s.params.toLocaleString('en')} parameters (${s.trainable.toLocaleString('en')} trainable), ${s.sizeMB.toFixed(2)} MB fp32`);
    for (const g of s.groups) console.log(`  group ${g.index}: ${g.layers} layers, ${g.params.toLocaleString('en')} parameters`);
    return;
  }
}

runCli(() => main(process.argv.slice(2)));
