/**
 * Move a seeded --percent of every class from <root>/<from>/ to <root>/<to>/ (carve a validation
 * split). Replaces the original move_awa2.py.
 *
 *   npm run move-awa2 -- --root out --from train --to valid --percent 0.1 --seed 0
 *
 * Deterministic per --seed, idempotent (a rerun moves nothing), resumable after a crash.
 */
import { parseArgs } from 'node:util';
import { planSplit } from '../lib/data/transfer';
import { fail, runWithSummary } from './transfer-cli';

const USAGE = `usage: npm run move-awa2 -- --root <out> --from train --to valid --percent 0.1 [--seed 0] [--dry-run]
  --root      folder holding the split folders
  --from      split folder to take images from (default train)
  --to        split folder to move them to (default valid)
  --percent   fraction of each class to move, in (0, 1)
  --seed      seed of the per-class random choice (default 0)
  --dry-run   print what would happen, change nothing`;

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({ options: { root: { type: 'string' }, from: { type: 'string', default: 'train' }, to: { type: 'string', default: 'valid' }, percent: { type: 'string' }, seed: { type: 'string', default: '0' }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (err) {
    fail(err, USAGE);
  }
  if (values.help) return void console.log(USAGE);
  if (!values.root || values.percent === undefined) fail(new Error('--root and --percent are required'), USAGE);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) fail(new Error(`--seed expects an integer, got '${values.seed}'`), USAGE);
  try {
    const job = planSplit({ root: values.root, from: values.from, to: values.to, percent: Number(values.percent), seed });
    runWithSummary(job, values['dry-run']);
  } catch (err) {
    fail(err);
  }
}

main();
