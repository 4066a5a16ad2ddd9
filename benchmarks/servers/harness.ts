import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { AddressInfo } from 'node:net';

/** Messages a benchmark server sends its parent over the IPC channel. */
export type ServerMessage =
  { type: 'ready'; port: number } | { type: 'unavailable'; reason: string };

/** What /__stats answers: requests served on the benchmark routes and store calls by method. */
export interface ServerStats {
  served: number;
  /** Benchmark requests begun and not yet finished; counters are only read or reset at 0. */
  inFlight: number;
  /** Process CPU time (user + system, µs) since the last reset: work per request, which a busy machine distorts far less than req/s. */
  cpuMicros: number;
  ops: Record<string, number>;
}

/** The session payload every server stores at /__setup: a realistic ~250-byte logged-in session. */
export const SETUP_DATA = {
  user: { id: 4217, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'] },
  csrf: 'kG9fX2m0t7Qp4rV1sY8wZ3cL6nB5hJ0d',
  locale: 'en-GB',
  counter: 0,
} as const;

/** The fixed signing secret: the benchmark measures throughput, not secrecy. */
export const BENCH_SECRET = 'kvsession-benchmark-secret-0123456789abcdef';

/**
 * An Express app with the stats endpoints mounted first, so reading or resetting the
 * counters never goes through (and is never counted by) a session middleware.
 */
export function createBenchApp(): { app: Express; stats: ServerStats } {
  const stats: ServerStats = { served: 0, inFlight: 0, cpuMicros: 0, ops: {} };
  let cpuBase = process.cpuUsage();
  const app = express();
  app.get('/__stats', (_req, res) => {
    const cpu = process.cpuUsage(cpuBase);
    stats.cpuMicros = cpu.user + cpu.system;
    res.json(stats);
  });
  app.post('/__stats/reset', (_req, res) => {
    stats.served = 0;
    stats.ops = {};
    stats.cpuMicros = 0;
    cpuBase = process.cpuUsage();
    res.json(stats);
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/__')) {
      stats.served++;
      stats.inFlight++;
      // 'close' fires for finished and for aborted responses alike.
      res.once('close', () => stats.inFlight--);
    }
    next();
  });
  return { app, stats };
}

/** Adds one to the counter of store method `op`. */
export function countOp(stats: ServerStats, op: string): void {
  stats.ops[op] = (stats.ops[op] ?? 0) + 1;
}

/**
 * Listens on a free loopback port, reports it to the parent once `beforeReady` has settled, and
 * shuts down cleanly on 'close'.
 */
export function serve(
  app: Express,
  cleanup: () => Promise<void>,
  beforeReady?: () => Promise<void>,
): void {
  // Listening first: a store's warm() never holds the process open by itself (src/store.ts).
  const server = app.listen(0, '127.0.0.1', () => {
    (beforeReady?.() ?? Promise.resolve()).then(
      () => send({ type: 'ready', port: (server.address() as AddressInfo).port }),
      (err: unknown) => unavailable(err instanceof Error ? err.message : String(err)),
    );
  });
  // Keep-alive longer than the load generator's gaps between cells, so connections are not torn down mid-run.
  server.keepAliveTimeout = 60_000;
  let closing = false;
  const shutdown = (code: number): void => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    server.close();
    cleanup()
      .catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`))
      // Exiting normally (not by signal) lets --cpu-prof write its profile.
      .finally(() => process.exit(code));
  };
  process.on('message', (message) => {
    if (message === 'close') shutdown(0);
  });
  // Ctrl-C reaches every process of the group: still remove our keys and tables from the shared backends.
  process.once('SIGINT', () => shutdown(130));
  process.once('SIGTERM', () => shutdown(143));
}

/** What serveSessions needs of a kvsession middleware (native or drop-in). */
export interface ServedSessions {
  readonly store: { clear?(): Promise<void>; warm?(): Promise<void> };
  close(): Promise<void>;
}

/**
 * serve() for a kvsession app: ready only once the store is connected, as the express-session servers
 * are (a server that takes requests while its driver loads and connects can stay in a costlier GC
 * regime for the rest of its life, benchmarks/README.md, session 13); on exit removes the run's sessions.
 */
export function serveSessions(
  app: Express,
  sessions: ServedSessions,
  removeAfter: () => Promise<void> = async () => {},
): void {
  serve(
    app,
    async () => {
      await sessions.store.clear?.();
      await sessions.close();
      await removeAfter();
    },
    async () => sessions.store.warm?.(),
  );
}

/** Tells the parent this contender cannot run here, then exits. */
export function unavailable(reason: string): void {
  send({ type: 'unavailable', reason }, () => process.exit(0));
}

function send(message: ServerMessage, then?: () => void): void {
  if (process.send === undefined) {
    process.stdout.write(`${JSON.stringify(message)}\n`);
    then?.();
    return;
  }
  // IPC is asynchronous: exiting before the callback could drop the message.
  process.send(message, undefined, {}, () => then?.());
}
