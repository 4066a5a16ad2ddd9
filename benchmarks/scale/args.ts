import { parseArgs } from 'node:util';
import { list, positive } from '../args.js';
import { SCALE_STORES } from './contenders.js';
import type { ScaleStore } from './contenders.js';

/** The scale benchmark's settings after the mode's defaults. */
export interface ScaleArgs {
  readonly mode: 'quick' | 'full';
  readonly stores: readonly ScaleStore[];
  /** Live sessions at each step of the sweep, ascending. */
  readonly sizes: readonly number[];
  /** Pruning phase: live sessions beside `pruneExpired` expired ones; 0 expired skips the phase. */
  readonly pruneLive: number;
  /** Run the size sweep (off with --no-sweep: pruning only, saved as results/scale-prune.md). */
  readonly sweep: boolean;
  readonly pruneExpired: number;
  readonly reps: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly connections: number;
  /** Also measure express-session (connect-sqlite3, connect-pg-simple) beside kvsession. */
  readonly expressSession: boolean;
  readonly pin: boolean;
  /** Write results/scale.md and results/scale.svg (off for filtered runs unless --save). */
  readonly save: boolean;
}

export const SCALE_USAGE = `usage: npm run bench:scale [-- options]
  (default: quick mode, 10k and 100k sessions, pruning 100k expired beside 10k live, 6–8 min)
  --full                10k, 100k and 1M sessions; pruning 1M expired beside 100k live (~35 min)
  --stores a,b          of ${SCALE_STORES.join(',')}
  --sizes n,n           live sessions per step, e.g. 10000,100000
  --prune-live N  --prune-expired N   (--prune-expired 0: no pruning phase)
  --no-sweep            pruning phase only (saved as results/scale-prune.md)
  --reps N  --duration S  --warmup S  --connections N
  --no-express-session  kvsession only
  --save                write results/scale.md and scale.svg even for a filtered run
  --no-pin              let the OS place the server and the load generator`;

/** Parses argv; throws with SCALE_USAGE on anything unknown. */
export function parseScaleArgs(argv: readonly string[]): ScaleArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      full: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      stores: { type: 'string' },
      sizes: { type: 'string' },
      'prune-live': { type: 'string' },
      'prune-expired': { type: 'string' },
      reps: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'no-express-session': { type: 'boolean', default: false },
      'no-sweep': { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(SCALE_USAGE);
  const full = values.full && !values.quick;
  const num = (raw: string | undefined, fallback: number, flag: string): number =>
    positive(raw, fallback, flag, SCALE_USAGE);
  const sizes =
    values.sizes === undefined
      ? full
        ? [10_000, 100_000, 1_000_000]
        : [10_000, 100_000]
      : values.sizes.split(',').map((s) => num(s.trim(), 0, '--sizes'));
  const filtered =
    values.stores !== undefined || values.sizes !== undefined || values['no-express-session'];
  return {
    mode: full ? 'full' : 'quick',
    stores: list(values.stores, SCALE_STORES, '--stores', SCALE_USAGE),
    sizes: [...sizes].sort((a, b) => a - b),
    sweep: !values['no-sweep'],
    pruneLive: num(values['prune-live'], full ? 100_000 : 10_000, '--prune-live'),
    pruneExpired:
      values['prune-expired'] === '0'
        ? 0
        : num(values['prune-expired'], full ? 1_000_000 : 100_000, '--prune-expired'),
    reps: num(values.reps, full ? 3 : 2, '--reps'),
    durationSec: num(values.duration, full ? 4 : 2, '--duration'),
    warmupSec: num(values.warmup, full ? 4 : 2, '--warmup'),
    connections: num(values.connections, 10, '--connections'),
    expressSession: !values['no-express-session'],
    pin: !values['no-pin'],
    save: values.save || !filtered,
  };
}
