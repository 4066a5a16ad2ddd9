import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';

/** True when running in CI, where no store test may be skipped. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** Redis URL for tests: REDIS_URL or the local default. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** Postgres URL for tests: DATABASE_URL or the local default. */
export const DATABASE_URL =
  process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A short random tag, unique to this test process, so runs never collide in shared servers. It starts
 * with the run's tag (test/global-setup.ts), which the end-of-run check looks for.
 */
export const RUN_ID = `${process.env['KVSESSION_TEST_RUN'] ?? 'r'}${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

/** Where the conformance suite's random prefixes start in this run (its `prefix` option): swept with the rest. */
export const CONFORMANCE_PREFIX = `kvtest:${RUN_ID}:conf:`;

/** A fresh random prefix for one test. */
export function randomPrefix(label = 't'): string {
  return `kvtest:${RUN_ID}:${label}:${randomBytes(4).toString('hex')}:`;
}

/** Resolves undefined when host:port accepts a TCP connection within 1 s, else the reason it did not. */
export function probeTcp(url: string): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port) });
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(1000, () => done(`${hostname}:${port} did not answer within 1 s`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(`${hostname}:${port}: ${err.message}`));
  });
}

/**
 * describe() for tests that need a real server. Outside CI a missing server skips the block with
 * a printed reason; under CI=true it fails, because in CI no store test may be skipped.
 */
export async function describeWithServer(name: string, url: string, fn: () => void): Promise<void> {
  const reason = await probeTcp(url);
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (IN_CI) throw new Error(`${name}: server required in CI but unreachable (${reason})`);
  console.warn(`SKIPPED ${name}: ${reason}. Start the server or set its URL env var to run it.`);
  describe.skip(`${name} (skipped: ${reason})`, fn);
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `op` until it resolves, for at most `ms` (then its last error); for things that heal in the background. */
export async function eventually<T>(op: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/** A port nobody listens on right now (bound once by the OS, then released). */
export async function sparePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts every connection and never sends a byte: a hung database. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
