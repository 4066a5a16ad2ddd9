import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../stores/index.js';
import { kvSession } from '../src/index.js';
import { runCli } from '../cli/index.js';
import { KvSessionError, storeUnavailable } from '../src/errors.js';
import { redactSecrets } from '../src/redact.js';
import { runFromSource } from './e2e/from-source.js';
import { TEST_SECRET } from './helpers/app.js';
import { StoreDecorator } from '../src/store-decorator.js';
import type { StoreOperation } from '../src/store-decorator.js';
import { createMemoryStore } from '../stores/memory.js';

// Issue 18, point 7. Every piece of every credential below must be absent from every surface.
const PIECES = ['Zx9q', 'Secr3t'];
const PASSWORDS = [
  'Zx9qSecr3t',
  'Zx9q/Secr3t',
  'Zx9q@Secr3t',
  'Zx9q Secr3t',
  'Zx9q"Secr3t',
  'Zx9q%40Secr3t',
];
// Every scheme createStore knows, the two forms being added for Redis Cluster/Sentinel, an upper-case one and an unknown one.
const KNOWN = ['memory', 'file', 'sqlite', 'redis', 'rediss', 'postgres', 'postgresql'];
const SCHEMES = [...KNOWN, 'redis-cluster', 'redis-sentinel', 'REDIS', 'mongodb'];
// A closed port on loopback: connection attempts fail at once.
const HOST = '127.0.0.1:1';

function urlsFor(scheme: string): string[] {
  const urls = [
    ...PASSWORDS.map((pw) => `${scheme}://user:${pw}@${HOST}/0`),
    `${scheme}://:Zx9qSecr3t@${HOST}`,
    `${scheme}://Zx9qSecr3t@${HOST}`,
    `${scheme}://user:Zx9qSecr3t@`,
    `${scheme}://user:Zx9qSecr3t@${HOST.replace(':1', ':notaport')}/x`,
    `${scheme}://user:Zx9qSecr3t@[::1`,
    `${scheme}://${HOST}/db?password=Zx9qSecr3t`,
    `${scheme}://${HOST}/db?sslmode=disable&token=Zx9qSecr3t&x=1`,
    `${scheme}://${HOST}/db?auth_token=Zx9qSecr3t`,
    `${scheme}:/user:Zx9qSecr3t@${HOST}`,
    `${scheme}:user:Zx9qSecr3t@${HOST}`,
    `${scheme}://user:Zx9qSecr3t@127.0.0.1:1,127.0.0.1:2/mymaster`,
  ];
  return urls;
}
const ALL_URLS = [
  ...SCHEMES.flatMap(urlsFor),
  'user:Zx9qSecr3t@host',
  'host=127.0.0.1 port=1 password=Zx9qSecr3t',
];
// Schemes whose stores connect to HOST: an operation shows what the driver's errors say.
const NETWORK = /^(redis|rediss|postgres|postgresql|redis-cluster|redis-sentinel):/i;

function expectClean(surface: string, text: string): void {
  for (const piece of PIECES) expect(text, surface).not.toContain(piece);
}

/** Every way an error is commonly printed: message, String(), stack, and inspect (which follows causes). */
function expectCleanError(surface: string, err: unknown): void {
  expect(err, surface).toBeInstanceOf(KvSessionError);
  const e = err as KvSessionError;
  expectClean(
    surface,
    `${e.message}\n${String(e)}\n${e.stack ?? ''}\n${inspect(e, { depth: 5 })}\n${JSON.stringify(e)}`,
  );
}

let home: string;
let cwd: string;
// Some malformed URLs name odd relative paths: they are created, if at all, in a directory removed afterwards.
beforeAll(() => {
  cwd = process.cwd();
  home = mkdtempSync(join(tmpdir(), 'kvsession-redact-'));
  process.chdir(home);
});
afterAll(() => {
  process.chdir(cwd);
  rmSync(home, { recursive: true, force: true });
});

describe('no password or token from a store URL in errors, logs or CLI output', () => {
  it(`createStore(url) and kvSession({ store: url }) throw, or fail on first use, without it (${ALL_URLS.length} URLs)`, async () => {
    // Errors examined: thrown by createStore or kvSession, or met on the first store operation.
    let failures = 0;
    for (const url of ALL_URLS) {
      try {
        const store = createStore(url, { timeout: 300 });
        await store.close();
      } catch (err) {
        failures++;
        expectCleanError(`createStore(${url})`, err);
      }
      let sessions: ReturnType<typeof kvSession> | undefined;
      try {
        sessions = kvSession({
          secret: TEST_SECRET,
          store: url,
          storeTimeout: 300,
          pruneInterval: false,
        });
      } catch (err) {
        failures++;
        expectCleanError(`kvSession(${url})`, err);
        continue;
      }
      if (NETWORK.test(url)) {
        const err = await sessions.store.get('k').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `get() on ${url}`).toBeDefined();
        failures++;
        expectCleanError(`get() on ${url}`, err);
      }
      await sessions.close().catch((err: unknown) => expectCleanError(`close() of ${url}`, err));
    }
    // Each URL counts once per place it failed (createStore, kvSession, first operation): more failures than
    // URLs means the sweep really went through error paths rather than a run of accepted URLs.
    expect(failures).toBeGreaterThan(ALL_URLS.length);
  });

  it(`the CLI's stderr never shows it, for the same ${ALL_URLS.length} URLs (in-process)`, async () => {
    for (const url of ALL_URLS) {
      let stderr = '';
      let stdout = '';
      const status = await runCli(['count', '--store', url, '--timeout', '300'], {
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
      });
      if (status !== 0) expect(stderr, url).toMatch(/^kvsession: ERR_KVSESSION_[A-Z_]+: /);
      expectClean(`cli count --store ${url}`, stderr + stdout);
    }
  });

  it('the CLI as a real process prints one coded line without the password', async () => {
    const urls = [
      `redis://user:Zx9qSecr3t@${HOST}/notadb`,
      `postgres://user:Zx9q Secr3t@${HOST}/db`,
      `postgresql://u:Zx9qSecr3t@${HOST}/db`,
    ];
    for (const url of urls) {
      const result = await runFromSource(
        'cli/index.ts',
        ['count', '--store', url, '--timeout', '500'],
        { cwd: home },
      );
      expect(result.status, url).not.toBe(0);
      expect(result.stderr).toMatch(/^kvsession: ERR_KVSESSION_[A-Z_]+: [^\n]*\n$/);
      expectClean(url, result.stderr + result.stdout);
    }
  });

  it('storeUnavailable(err) redacts a password a driver put in its message, its stack, its fields and its causes', () => {
    const invalidUrl = (() => {
      try {
        new URL('redis://user:Zx9qSecr3t@[::1');
      } catch (err) {
        return err;
      }
      throw new Error('new URL did not throw');
    })();
    const pgLike = Object.assign(
      new Error('connect failed for postgres://app:Zx9qSecr3t@db.internal:5432/app'),
      {
        code: 'ECONNREFUSED',
        errno: -111,
      },
    );
    const nested = new Error('pool failed', { cause: new Error('password=Zx9qSecr3t rejected') });
    const libpq = new Error('bad conninfo "host=db user=app password=Zx9qSecr3t"');
    for (const driverError of [
      invalidUrl,
      pgLike,
      nested,
      libpq,
      'redis://:Zx9qSecr3t@h:6379 refused',
    ]) {
      const err = storeUnavailable(driverError, 'get');
      expect(err.code).toBe('ERR_KVSESSION_STORE_UNAVAILABLE');
      expectCleanError(String(driverError), err);
    }
    // What identifies the failure survives.
    expect((storeUnavailable(pgLike, 'get').cause as { code?: unknown }).code).toBe('ECONNREFUSED');
    expect(storeUnavailable(pgLike, 'get').message).toContain(
      'postgres://***@db.internal:5432/app',
    );
  });

  it('the background prune warning (a log line) does not show a password a driver put in its error', async () => {
    class LeakyPrune extends StoreDecorator {
      protected override intercept<T>(op: StoreOperation, call: () => Promise<T>): Promise<T> {
        return op === 'prune'
          ? Promise.reject(new Error('prune failed on postgres://app:Zx9qSecr3t@db.internal/app'))
          : call();
      }
    }
    const seen = new Promise<Error>((resolve) => process.once('warning', resolve));
    const sessions = kvSession({
      secret: TEST_SECRET,
      store: new LeakyPrune(createMemoryStore()),
      pruneInterval: 10,
    });
    try {
      const warning = await seen;
      expect(warning.message).toContain('background prune failed');
      expectClean('prune warning', `${warning.message}\n${warning.stack ?? ''}`);
    } finally {
      await sessions.close();
    }
  });

  it('redactSecrets handles 100 KB of pathological text (a backtracking pattern took 27 s on the first one)', () => {
    // Error text can carry request-derived strings; a quadratic pattern would stall the event loop (and this test).
    expect(redactSecrets('a:'.repeat(50_000))).toBe('a:'.repeat(50_000));
    expect(redactSecrets(`${'a:'.repeat(50_000)}@h`)).toBe('a:***@h');
    expect(redactSecrets(` ${'p'.repeat(100_000)}`)).toBe(` ${'p'.repeat(100_000)}`);
    expect(redactSecrets(`redis://${'a@'.repeat(50_000)}h`)).toBe('redis://***@h');
  });

  it('an error with nothing to hide keeps its original cause object', () => {
    const plain = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
    });
    expect(storeUnavailable(plain, 'get').cause).toBe(plain);
  });

  it('redactSecrets keeps the parts that help: scheme, host, port, database, other parameters', () => {
    expect(
      redactSecrets('"postgres://app:Zx9q@Secr3t@db:5432/app?sslmode=require&password=Zx9q" bad'),
    ).toBe('"postgres://***@db:5432/app?sslmode=require&password=***" bad');
    expect(redactSecrets('redis://default:Zx9qSecr3t@cache.internal:6380/2 down')).toBe(
      'redis://***@cache.internal:6380/2 down',
    );
    expect(redactSecrets('expected redis://[user:password@]host:port/db')).toContain(
      'redis://[user:',
    );
    expect(redactSecrets('the redis store failed during get: ECONNREFUSED 127.0.0.1:6379')).toBe(
      'the redis store failed during get: ECONNREFUSED 127.0.0.1:6379',
    );
  });
});
