import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Contender } from '../contenders.js';
import { repoRoot } from '../paths.js';
import type { Backend } from './backend.js';
import { postgresBackend, sqliteBackend } from './sql-loaders.js';
import { redisBackend, serverFilledBackend } from './other-backends.js';
import { expressSession, kvsession } from './population.js';

/** The scale benchmark's stores (the file store only up to 100k sessions). */
export const SCALE_STORES = ['memory', 'file', 'sqlite', 'redis', 'postgres'] as const;
export type ScaleStore = (typeof SCALE_STORES)[number];

/** Where one phase of a run keeps its data; names are unique per run and phase. */
export interface ScalePlace {
  readonly runId: string;
  readonly tmpDir: string;
  readonly redisUrl: string;
  readonly postgresUrl: string;
}

/** A server to measure at scale, how to fill its store, and how its cookies look. */
export interface ScaleContender extends Contender {
  readonly store: ScaleStore;
  /** Largest population measured (the file store writes a file per session). */
  readonly maxSessions: number;
  /** The `Cookie` header of session i. */
  readonly cookie: (i: number) => string;
  /** Extra node flags for the server. */
  readonly execArgv: readonly string[];
  /** The backend of the server started on `port`. */
  backend(port: number): Backend;
}

/** kvsession on `store` in `place`. */
export function kvsessionContender(store: ScaleStore, place: ScalePlace): ScaleContender {
  const prefix = `kvscale:${place.runId}:`;
  const table = `kvscale_${place.runId}`;
  const sqliteFile = join(place.tmpDir, 'kv-sessions.db');
  const fileDir = join(place.tmpDir, 'kv-file');
  const url = {
    memory: 'memory://',
    file: `file://${fileDir}`,
    sqlite: `sqlite://${sqliteFile}`,
    redis: place.redisUrl,
    postgres: place.postgresUrl,
  }[store];
  return {
    id: `kvsession/${store}`,
    library: 'kvsession',
    store,
    script: fileURLToPath(new URL('./kvsession-scale-server.js', import.meta.url)),
    args: [url, prefix, table, place.runId],
    execArgv: ['--expose-gc'],
    maxSessions: store === 'file' ? 100_000 : Number.POSITIVE_INFINITY,
    cookie: (i) => kvsession.cookie(place.runId, i),
    backend(port) {
      switch (store) {
        case 'memory':
          return serverFilledBackend(port, undefined);
        case 'file':
          return serverFilledBackend(port, fileDir);
        case 'sqlite':
          return sqliteBackend(sqliteFile, table, 'kvsession', place.runId, prefix);
        case 'redis':
          return redisBackend(place.redisUrl, prefix, {
            key: (i) => kvsession.key(place.runId, i),
            value: (i, now) => kvsession.record(now - (i % 1000)),
          });
        case 'postgres':
          return postgresBackend(place.postgresUrl, table, 'kvsession', place.runId, prefix);
      }
    },
  };
}

/** The stores express-session is measured on at scale: its MemoryStore, connect-redis, connect-sqlite3, connect-pg-simple. */
export type ExpressSessionScaleStore = Exclude<ScaleStore, 'file'>;

/** express-session on `store`, as ../servers/express-session-stores.mjs builds it. */
export function expressSessionContender(
  store: ExpressSessionScaleStore,
  place: ScalePlace,
): ScaleContender {
  return {
    id: `express-session/${store}`,
    library: 'express-session',
    store,
    script: join(repoRoot(), 'benchmarks', 'scale', 'express-session-scale-server.mjs'),
    args: [store, place.runId, place.tmpDir, place.redisUrl, place.postgresUrl],
    // The MemoryStore lives in the server, which reports its heap after two full collections.
    execArgv: store === 'memory' ? ['--expose-gc'] : [],
    maxSessions: Number.POSITIVE_INFINITY,
    cookie: (i) => expressSession.cookie(place.runId, i),
    backend(port) {
      switch (store) {
        case 'memory':
          return serverFilledBackend(port, undefined);
        case 'redis':
          // connect-redis's layout: prefix + sid, the session as JSON.
          return redisBackend(place.redisUrl, `esbench:${place.runId}:`, {
            key: (i) => expressSession.sid(place.runId, i),
            value: () => expressSession.sess(),
          });
        case 'sqlite':
          return sqliteBackend(
            join(place.tmpDir, 'es-sessions.db'),
            'sessions',
            'connect-sqlite3',
            place.runId,
            '',
          );
        case 'postgres':
          return postgresBackend(
            place.postgresUrl,
            `esbench_${place.runId}`,
            'connect-pg-simple',
            place.runId,
            '',
          );
      }
    },
  };
}
