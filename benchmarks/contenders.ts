import { join } from 'node:path';
import { compiledServer, sourceServer } from './paths.js';

/** The benchmark routes: never touches the session, reads one value, changes one value. */
export const ROUTES = ['none', 'read', 'write'] as const;
export type Route = (typeof ROUTES)[number];

/** The backends both libraries are measured on. */
export const STORES = ['memory', 'file', 'sqlite', 'redis', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

/**
 * The contenders with a store, selectable with --libs; bare Express is the baseline and always runs.
 * 'raw-client' is no session library but the floor under any on Redis: one GET per request with a
 * cookie and one compare-and-set per save through node-redis, nothing else (servers/raw-redis-server.ts).
 * 'raw-client-held' is the same with kvsession's response hold on /write: the floor under any session
 * middleware there, which cannot let the handler's answer out before the save it did not ask for.
 */
export const LIBRARIES = [
  'express-session',
  'kvsession',
  'kvsession-dropin',
  'raw-client',
  'raw-client-held',
] as const;
export type StoreLibrary = (typeof LIBRARIES)[number];
/**
 * 'noop': bare Express plus one empty middleware, the floor for anything added with app.use().
 * 'properties': one middleware that only sets `req.session` and `req.sessionID` to constants, the
 * floor for any middleware that gives express-session's API (see benchmarks/README.md).
 */
export type Library = 'bare' | 'noop' | 'properties' | StoreLibrary;

/** Whether `library` is a reference without sessions (bare Express, an empty middleware, the properties floor). */
export function isReference(library: Library): boolean {
  return library === 'bare' || library === 'noop' || library === 'properties';
}

/** One server to measure. */
export interface Contender {
  /** e.g. 'kvsession/redis'. */
  readonly id: string;
  readonly library: Library;
  readonly store: StoreKind | undefined;
  readonly script: string;
  readonly args: readonly string[];
}

/** Where this run keeps its data: unique names so concurrent runs and other users never collide. */
export interface RunPlace {
  readonly runId: string;
  readonly tmpDir: string;
  readonly redisUrl: string;
  readonly postgresUrl: string;
}

/** A run's place: its own ID and data directory, and the backends from BENCH_REDIS_URL / BENCH_POSTGRES_URL or the local defaults. */
export function runPlace(runId: string, tmpDir: string): RunPlace {
  return {
    runId,
    tmpDir,
    redisUrl: process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    postgresUrl: process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
  };
}

/** The bare-Express baseline. */
export function bareContender(): Contender {
  return {
    id: 'bare express',
    library: 'bare',
    store: undefined,
    script: compiledServer('bare-server'),
    args: [],
  };
}

/** Bare Express with one empty middleware: what any app.use() layer costs before doing anything. */
export function noopContender(): Contender {
  return {
    id: 'express + empty middleware',
    library: 'noop',
    store: undefined,
    script: compiledServer('bare-server'),
    args: ['empty-middleware'],
  };
}

/** Bare Express with one middleware that sets `req.session` and `req.sessionID` to constants and nothing else. */
export function propertiesContender(): Contender {
  return {
    id: 'express + req.session, req.sessionID',
    library: 'properties',
    store: undefined,
    script: compiledServer('bare-server'),
    args: ['request-properties'],
  };
}

/** The sessionless references measured beside bare Express: the empty middleware, then the two properties. */
export function referenceContenders(): Contender[] {
  return [noopContender(), propertiesContender()];
}

/** express-session, kvsession, kvsession's express-session drop-in, then (Redis only) the raw client without and with the hold on `store`, keeping those in `libraries`. */
export function storeContenders(
  store: StoreKind,
  place: RunPlace,
  libraries: readonly StoreLibrary[],
): Contender[] {
  const all: Contender[] = [
    {
      id: `express-session/${store}`,
      library: 'express-session',
      store,
      script: sourceServer('express-session-server'),
      args: [store, place.runId, place.tmpDir, place.redisUrl, place.postgresUrl],
    },
    {
      id: `kvsession/${store}`,
      library: 'kvsession',
      store,
      script: compiledServer('kvsession-server'),
      args: [kvsessionUrl(store, place), `kvbench:${place.runId}:`, `kvbench_${place.runId}`],
    },
    {
      id: `kvsession-dropin/${store}`,
      library: 'kvsession-dropin',
      store,
      script: compiledServer('dropin-server'),
      args: [kvsessionUrl(store, place), `kvbench:${place.runId}:d:`, `kvbench_${place.runId}_d`],
    },
  ];
  if (store === 'redis') {
    all.push({
      id: 'raw node-redis/redis',
      library: 'raw-client',
      store,
      script: compiledServer('raw-redis-server'),
      args: [place.redisUrl, `kvbench:${place.runId}:raw:`],
    });
    all.push({
      id: 'raw node-redis + hold/redis',
      library: 'raw-client-held',
      store,
      script: compiledServer('raw-redis-server'),
      args: [place.redisUrl, `kvbench:${place.runId}:rawh:`, 'hold'],
    });
  }
  return all.filter((c) => (libraries as readonly Library[]).includes(c.library));
}

function kvsessionUrl(store: StoreKind, place: RunPlace): string {
  switch (store) {
    case 'memory':
      return 'memory://';
    case 'file':
      return `file://${join(place.tmpDir, 'kv-file')}`;
    case 'sqlite':
      return `sqlite://${join(place.tmpDir, 'kv-sessions.db')}`;
    case 'redis':
      return place.redisUrl;
    case 'postgres':
      return place.postgresUrl;
  }
}
