/**
 * Copy (or move) a seeded sample of at most --count images per class out of AWA2's JPEGImages/
 * into a folder-per-class tree. Replaces the original copy_awa2.py (constants edited in the file).
 *
 *   npm run copy-awa2 -- --src AwA2/JPEGImages --dest out/train --classes AwA2/trainclasses.txt --count 2000
 *   npm run copy-awa2 -- --src AwA2/JPEGImages --dest out/test  --classes AwA2/testclasses.txt
 *
 * Deterministic per --seed, idempotent, resumable after a crash (rerun with the same flags).
 */
import { defineCli, runCli, UserError } from '../lib/cli';
import { readClassList } from '../lib/data/awa2';
import { planSample } from '../lib/data/transfer';
import { runWithSummary } from './transfer-cli';

export const cli = defineCli({
  command: 'npm run copy-awa2 --',
  summary: "Copies (or moves) a seeded sample of at most --count images per class out of AWA2's JPEGImages/ into <dest>/<class>/. " +
    'Deterministic per --seed, idempotent, resumable after a crash (rerun with the same flags).',
  flags: {
    src: { type: 'path', required: true, placeholder: '<dir>', description: "folder with one subfolder per class (AWA2's JPEGImages)" },
    dest: { type: 'path', required: true, placeholder: '<dir>', description: 'destination folder; <dest>/<class>/ is created per class' },
    classes: { type: 'path', required: true, placeholder: '<file>', description: 'class list (trainclasses.txt, testclasses.txt or classes.txt)' },
    count: { type: 'integer', description: 'at most N images per class (default: all)' },
    seed: { type: 'integer', default: 0, description: 'seed of the per-class random choice' },
    move: { type: 'boolean', description: 'move instead of copy (as the original script did)' },
    'dry-run': { type: 'boolean', description: 'print what would happen, change nothing' },
  },
  examples: [
    'npm run copy-awa2 -- --src AwA2/JPEGImages --dest awa2/train --classes AwA2/trainclasses.txt --count 2000 --seed 0',
    'npm run copy-awa2 -- --src AwA2/JPEGImages --dest awa2/test --classes AwA2/testclasses.txt',
  ],
});

runCli(() => {
  const { values: a } = cli.parse();
  if (a.count !== undefined && a.count <= 0) throw new UserError(`--count expects a positive integer, got ${a.count}`);
  const job = planSample({ src: a.src, dest: a.dest, classes: readClassList(a.classes), count: a.count, seed: a.seed, move: a.move });
  runWithSummary(job, a['dry-run']);
});
