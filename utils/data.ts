/**
 * Real photos from a command: Tiny ImageNet's AWA2 classes in AWA2 layout plus 20 further animal classes.
 *
 *   npm run data -- tiny-imagenet --out data                         # downloads tiny-imagenet-200.zip (237 MB) into data/ first
 *   npm run data -- tiny-imagenet --out data --from ~/tiny-imagenet-200.zip   # offline: the zip or its extracted folder
 *   npm run demo -- --data data/tiny-imagenet-awa2 --size 64
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineCli, runCli, UserError } from '../lib/cli';
import { buildTinyImagenet, TINY_IMAGENET_URL } from '../lib/data/tiny-imagenet';
import { displayPath } from '../lib/settings';
import { downloadFile } from '../lib/weights/download';

export const cli = defineCli({
  command: 'npm run data --',
  summary: "Builds real-photo data sets. tiny-imagenet: Tiny ImageNet's 13 AWA2 classes in AWA2 layout (<out>/tiny-imagenet-awa2: " +
    '500 photos each, 10 seen / 3 unseen) and 20 non-AWA2 animal classes (<out>/tiny-imagenet-animals: 100 photos each), photos copied byte for byte. ' +
    'ImageNet photos: ImageNet-pretrained backbones have seen these classes.',
  positionals: 'tiny-imagenet',
  commands: { 'tiny-imagenet': `--out <dir> [--from <zip|folder>]: without --from, downloads ${TINY_IMAGENET_URL} (resumable) into <dir> and keeps it` },
  flags: {
    out: { type: 'path', placeholder: '<dir>', description: 'folder that receives tiny-imagenet-awa2/ and tiny-imagenet-animals/', required: true },
    from: { type: 'path', placeholder: '<zip|folder>', description: 'tiny-imagenet-200.zip or the folder it extracts to (offline)' },
    force: { type: 'boolean', description: 'replace the two folders when they exist' },
    json: { type: 'boolean', description: 'print one JSON object' },
  },
  examples: ['npm run data -- tiny-imagenet --out data', 'npm run data -- tiny-imagenet --out data --from ~/Downloads/tiny-imagenet-200.zip'],
});

async function main(argv: string[]): Promise<void> {
  const { values: v, positionals: [command] } = cli.parse(argv);
  if (command !== 'tiny-imagenet') throw new UserError(`unknown data set ${command ?? '(none)'}: the one this command builds is tiny-imagenet`, 'npm run data -- --help');
  let from = v.from;
  if (!from) {
    from = path.join(v.out, 'tiny-imagenet-200.zip');
    if (!fs.existsSync(from)) {
      process.stderr.write(`downloading ${TINY_IMAGENET_URL} into ${displayPath(from)} (237 MB; run again to resume)\n`);
      let last = 0;
      await downloadFile(TINY_IMAGENET_URL, from, {
        onProgress: ({ received, total }) => {
          if (Date.now() - last < 1000) return;
          last = Date.now();
          process.stderr.write(`\r${(received / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ''} MB   `);
        },
      }).catch((err: Error) => {
        throw new UserError(`could not download Tiny ImageNet: ${err.message}`, 'without internet, pass the zip or its folder with --from');
      });
      process.stderr.write('\n');
    }
  }
  const t0 = Date.now();
  const r = await buildTinyImagenet({
    from, out: v.out, force: v.force,
    onProgress: (n) => { if (!v.json) process.stderr.write(`\r${n} photos`); },
  }).catch((err: Error) => {
    throw new UserError(err.message);
  });
  const seconds = (Date.now() - t0) / 1000;
  const count = Object.values(r.photos).reduce((a, b) => a + b, 0);
  if (v.json) return console.log(JSON.stringify({ ...r, count, seconds }));
  process.stderr.write('\n');
  console.log(`${displayPath(r.awa2)}: AWA2 layout, 13 classes (10 seen, 3 unseen); ${displayPath(r.animals)}: 20 animal classes; ${count} photos in ${seconds.toFixed(1)} s.`);
  console.log(`Train on them: npm run demo -- --data ${displayPath(r.awa2)} --size 64   (ImageNet photos: the pretrained backbone has seen these classes)`);
}

runCli(() => main(process.argv.slice(2)));
