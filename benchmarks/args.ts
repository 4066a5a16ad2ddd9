import { parseArgs } from 'node:util';
import { LIBRARIES, ROUTES, STORES } from './contenders.js';
import type { Route, StoreLibrary, StoreKind } from './contenders.js';

/** The benchmark's settings after defaults for the chosen mode. */
export interface BenchArgs {
  readonly mode: 'quick' | 'full';
  /** 'only': micro-benchmarks alone; 'skip': HTTP benchmarks alone. */
  readonly micro: 'also' | 'only' | 'skip';
  readonly stores: readonly StoreKind[];
  /** Which contenders with a store (the session libraries, and the raw client on Redis) run beside bare Express. */
  readonly libraries: readonly StoreLibrary[];
  readonly routes: readonly Route[];
  readonly reps: number;
  /**
   * Server processes per contender over the run (JMH's forks): the repetitions are split between them,
   * and each starts fresh and is warmed up again. Two processes of the same server differed by up to
   * 17% in CPU per request, so with one process a contender's whole run rides on one draw.
   */
  readonly forks: number;
  readonly durationSec: number;
  /** Load before a server's first cell on a route. */
  readonly warmupSec: number;
  /** Load before every later cell: a server left idle while the others were measured starts its next cell cold. */
  readonly rewarmSec: number;
  /** Idle pause before each cell, so background work a backend owes the previous cell (WAL flush, autovacuum, page write-back) is not charged to the next. */
  readonly settleSec: number;
  readonly connections: number;
  /** Run every server under --cpu-prof, profiles in benchmarks/results/profiles/. */
  readonly cpuProf: boolean;
  /** Write benchmarks/results/latest.md (off for filtered runs unless --save). */
  readonly save: boolean;
  /** Pin the server and the load generator to separate CPUs (see pinning.ts). */
  readonly pin: boolean;
}

export const USAGE = `usage: node dist/benchmarks/run.js [options]
       node dist/benchmarks/run.js instructions [options]   (instructions per request; see benchmarks/README.md)
       node dist/benchmarks/run.js profile <file.cpuprofile> [top]
  --quick               2 reps × 2 s per cell: a few minutes (default: 5 reps × 4 s)
  --micro               micro-benchmarks only       --no-micro   HTTP benchmarks only
  --stores a,b          of ${STORES.join(',')} (bare Express always runs)
  --routes a,b          of ${ROUTES.join(',')}
  --libs a,b            of ${LIBRARIES.join(',')}
  --reps N  --duration S  --connections N
  --forks N             server processes per contender, the reps split between them (default 1)
  --warmup S            once per server and route, in the first rep (3 s quick, 15 s full)
  --rewarm S            before every later cell, unmeasured (1 s quick, 2 s full; 0 for none)
  --settle S            idle pause before each cell (0.5 s quick, 1 s full; 0 for none)
  --cpu-prof            profile every server (results/profiles/*.cpuprofile; read with run.js profile)
  --save                write results/latest.md even for a filtered run
  --no-pin              let the OS place servers and load generator (default: one CPU each, via taskset)`;

/** Parses argv; throws with USAGE on anything unknown. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      micro: { type: 'boolean', default: false },
      'no-micro': { type: 'boolean', default: false },
      stores: { type: 'string' },
      routes: { type: 'string' },
      libs: { type: 'string' },
      reps: { type: 'string' },
      forks: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rewarm: { type: 'string' },
      settle: { type: 'string' },
      connections: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const quick = values.quick;
  const stores = list(values.stores, STORES, '--stores');
  const routes = list(values.routes, ROUTES, '--routes');
  const libraries = list(values.libs, LIBRARIES, '--libs');
  const reps = positive(values.reps, quick ? 2 : 5, '--reps');
  const forks = positive(values.forks, 1, '--forks');
  if (!Number.isInteger(forks) || forks > reps)
    throw new Error(`--forks must be a whole number no larger than --reps (${reps})\n${USAGE}`);
  const filtered =
    values.stores !== undefined || values.routes !== undefined || values.libs !== undefined;
  return {
    mode: quick ? 'quick' : 'full',
    micro: values.micro ? 'only' : values['no-micro'] ? 'skip' : 'also',
    stores,
    libraries,
    routes,
    reps,
    forks,
    durationSec: positive(values.duration, quick ? 2 : 4, '--duration'),
    // Long on purpose: under callgrind, V8 was still compiling Express's and our hot functions with
    // TurboFan 14,000 requests into a fresh server, and with 2 s (~12,000 requests) an empty
    // middleware measured 0.91 × the always-running bare server; with 15 s, 1.02.
    warmupSec: positive(values.warmup, quick ? 3 : 15, '--warmup'),
    // A server idle for a minute (the others being measured) spent 1.2–2.4 × its steady CPU per
    // request in the first second of load and up to 1.4 × in the second. Bare Express, measured in
    // every group, never idles that long, so without this every contender paid it and bare did not.
    rewarmSec: positiveOrOff(values.rewarm, quick ? 1 : 2, '--rewarm'),
    settleSec: positiveOrOff(values.settle, quick ? 0.5 : 1, '--settle'),
    connections: positive(values.connections, 10, '--connections'),
    cpuProf: values['cpu-prof'],
    save: values.save || !filtered,
    pin: !values['no-pin'],
  };
}

/** A comma-separated flag checked against the known values; all of them when absent. */
export function list<T extends string>(
  raw: string | undefined,
  known: readonly T[],
  flag: string,
  usage = USAGE,
): T[] {
  if (raw === undefined) return [...known];
  const picked = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const p of picked) {
    if (!(known as readonly string[]).includes(p))
      throw new Error(`${flag}: unknown "${p}"; known: ${known.join(', ')}\n${usage}`);
  }
  return picked as T[];
}

/** A positive number flag, or `fallback` when absent. */
export function positive(
  raw: string | undefined,
  fallback: number,
  flag: string,
  usage = USAGE,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number\n${usage}`);
  return n;
}

/** Like `positive`, but `0` turns the step off. */
export function positiveOrOff(
  raw: string | undefined,
  fallback: number,
  flag: string,
  usage = USAGE,
): number {
  return raw === '0' ? 0 : positive(raw, fallback, flag, usage);
}
