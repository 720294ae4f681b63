/**
 * Move a seeded --percent of every class from <root>/<from>/ to <root>/<to>/ (carve a validation
 * split). Replaces the original move_awa2.py.
 *
 *   npm run move-awa2 -- --root out --from train --to valid --percent 0.1 --seed 0
 *
 * Deterministic per --seed, idempotent (a rerun moves nothing), resumable after a crash.
 */
import { defineCli, runCli } from '../lib/cli';
import { planSplit } from '../lib/data/transfer';
import { runWithSummary } from './transfer-cli';

export const cli = defineCli({
  command: 'npm run move-awa2 --',
  summary: 'Moves a seeded --percent of every class from <root>/<from>/ to <root>/<to>/ (carves a validation split). ' +
    'Deterministic per --seed, idempotent (a rerun moves nothing), resumable after a crash.',
  flags: {
    root: { type: 'path', required: true, placeholder: '<dir>', description: 'folder holding the split folders' },
    from: { type: 'string', default: 'train', placeholder: '<split>', description: 'split folder to take images from' },
    to: { type: 'string', default: 'valid', placeholder: '<split>', description: 'split folder to move them to' },
    percent: { type: 'number', required: true, placeholder: '<fraction>', description: 'fraction of each class to move, in (0, 1)' },
    seed: { type: 'integer', default: 0, description: 'seed of the per-class random choice' },
    'dry-run': { type: 'boolean', description: 'print what would happen, change nothing' },
  },
  examples: ['npm run move-awa2 -- --root awa2 --from train --to valid --percent 0.1 --seed 0'],
});

runCli(() => {
  const { values: a } = cli.parse();
  const job = planSplit({ root: a.root, from: a.from, to: a.to, percent: a.percent, seed: a.seed });
  runWithSummary(job, a['dry-run']);
});
