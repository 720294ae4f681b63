/**
 * Copy (or move) a seeded sample of at most --count images per class out of AWA2's JPEGImages/
 * into a folder-per-class tree. Replaces the original copy_awa2.py (constants edited in the file).
 *
 *   npm run copy-awa2 -- --src AwA2/JPEGImages --dest out/train --classes AwA2/trainclasses.txt --count 2000
 *   npm run copy-awa2 -- --src AwA2/JPEGImages --dest out/test  --classes AwA2/testclasses.txt
 *
 * Deterministic per --seed, idempotent, resumable after a crash (rerun with the same flags).
 */
import { parseArgs } from 'node:util';
import { readClassList } from '../lib/data/awa2';
import { planSample } from '../lib/data/transfer';
import { fail, runWithSummary } from './transfer-cli';

const USAGE = `usage: npm run copy-awa2 -- --src <AWA2>/JPEGImages --dest <out>/train --classes <AWA2>/trainclasses.txt
                            [--count N] [--seed 0] [--move] [--dry-run]
  --src       folder with one subfolder per class (AWA2's JPEGImages)
  --dest      destination folder; <dest>/<class>/ is created per class
  --classes   class list (trainclasses.txt, testclasses.txt or classes.txt)
  --count     at most N images per class (default: all)
  --seed      seed of the per-class random choice (default 0)
  --move      move instead of copy (as the original script did)
  --dry-run   print what would happen, change nothing`;

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({ options: { src: { type: 'string' }, dest: { type: 'string' }, classes: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string', default: '0' }, move: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (err) {
    fail(err, USAGE);
  }
  if (values.help) return void console.log(USAGE);
  if (!values.src || !values.dest || !values.classes) fail(new Error('--src, --dest and --classes are required'), USAGE);
  const count = values.count === undefined ? undefined : Number(values.count);
  const seed = Number(values.seed);
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) fail(new Error(`--count expects a positive integer, got '${values.count}'`), USAGE);
  if (!Number.isInteger(seed)) fail(new Error(`--seed expects an integer, got '${values.seed}'`), USAGE);
  try {
    const job = planSample({ src: values.src, dest: values.dest, classes: readClassList(values.classes), count, seed, move: values.move });
    runWithSummary(job, values['dry-run']);
  } catch (err) {
    fail(err);
  }
}

main();
