import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';

/** True when running in CI, where no store test may be skipped. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** Redis URL for tests: REDIS_URL or the local default. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** Postgres URL for tests: DATABASE_URL or the local default. */
export const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A short random tag, unique to this test process, so runs never collide in shared servers. It starts
 * with the run's tag (test/global-setup.ts), which the end-of-run check looks for.
 */
export const RUN_ID = `${process.env['KVSESSION_TEST_RUN'] ?? 'r'}${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

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
