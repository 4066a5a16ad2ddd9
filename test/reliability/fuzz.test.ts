import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { kvSession } from '../../src/index.js';
import { Signer } from '../../src/signer.js';
import { createSessionId } from '../../src/id.js';
import { createMemoryStore } from '../../stores/memory.js';
import { CountingStore } from '../helpers/counting-store.js';
import { TEST_SECRET, startApp } from '../helpers/app.js';
import { dispatch } from './helpers/inprocess.js';
import { ForgedCookies, seededRandom } from './helpers/cookies.js';

// A fresh seed per run widens coverage over time; a failure names its seed, and
// KVSESSION_FUZZ_SEED=<seed> replays exactly the same headers.
const SEED = Number(process.env['KVSESSION_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 32));
const IN_PROCESS_REQUESTS = 100_000;
const HTTP_REQUESTS = 2_000;
// Node's HTTP server answers 431 itself above 16 KB of headers, before any middleware runs.
const HTTP_HEADER_LIMIT = 12_000;

interface Failure {
  readonly i: number;
  readonly family: string;
  readonly header: string;
  readonly status: number;
  readonly error: string | undefined;
  readonly setCookies: number;
  readonly value: unknown;
}

describe(`hostile Cookie headers (seed ${SEED})`, () => {
  it(`${IN_PROCESS_REQUESTS} forged, malformed, oversized, duplicated, unicode and =-less headers: 0 throws, 0 5xx, 0 store reads`, async () => {
    const store = new CountingStore(createMemoryStore());
    const sessions = kvSession({ secret: TEST_SECRET, store, pruneInterval: false });
    const cookies = new ForgedCookies(SEED, TEST_SECRET);
    const failures: Failure[] = [];
    const families = new Map<string, number>();
    let writes = 0;
    for (let i = 0; i < IN_PROCESS_REQUESTS; i++) {
      const { family, header } = cookies.next();
      families.set(family, (families.get(family) ?? 0) + 1);
      // Every 16th request also writes, so the save path (create + Set-Cookie) runs under hostile cookies too.
      const write = i % 16 === 0;
      if (write) writes++;
      let value: unknown;
      const reply = await dispatch(sessions, header, async (req, res) => {
        value = await req.session.get('x');
        if (write) req.session.set('n', i);
        res.json({ ok: true });
      });
      if (
        reply.status !== 200 ||
        reply.error !== undefined ||
        reply.setCookies.length !== (write ? 1 : 0) ||
        value !== undefined
      ) {
        failures.push({
          i,
          family,
          header: header.slice(0, 200),
          status: reply.status,
          error: describeError(reply.error),
          setCookies: reply.setCookies.length,
          value,
        });
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    // Not one lookup for a cookie whose signature fails; exactly one create per writing request.
    expect(store.nonZero()).toEqual({ create: writes });
    expect(await store.count()).toBe(writes);
    for (const family of ForgedCookies.FAMILIES)
      expect(families.get(family) ?? 0).toBeGreaterThan(IN_PROCESS_REQUESTS / 20);
    await sessions.close();
  }, 180_000);

  it('a validly signed cookie for an unknown ID amid hostile pairs: exactly one store read each, no session, no Set-Cookie', async () => {
    const store = new CountingStore(createMemoryStore());
    const sessions = kvSession({ secret: TEST_SECRET, store, pruneInterval: false });
    const signer = new Signer(TEST_SECRET);
    const rnd = seededRandom(SEED ^ 0x5eed);
    const junk = [
      '\u00ff\u00fe=1',
      'noequals',
      '',
      '=x',
      'a="b',
      'SID=nope',
      '\u0000=\u0000',
      'k=%E0%A4%A',
      `x=${'y'.repeat(9000)}`,
    ];
    const pick = (): string => junk[Math.floor(rnd() * junk.length)] as string;
    const rounds = 5_000;
    const failures: Failure[] = [];
    for (let i = 0; i < rounds; i++) {
      // The cookie library keeps the first of duplicate names, so the signed value comes first and a forged twin after it.
      const header = [
        pick(),
        pick(),
        `sid=${signer.sign(createSessionId())}`,
        `sid=${createSessionId()}.${createSessionId()}`,
        pick(),
      ].join('; ');
      let value: unknown;
      const reply = await dispatch(sessions, header, async (req, res) => {
        value = await req.session.get('x');
        res.json({ ok: true });
      });
      if (
        reply.status !== 200 ||
        reply.error !== undefined ||
        reply.setCookies.length !== 0 ||
        value !== undefined
      ) {
        failures.push({
          i,
          family: 'signed-unknown',
          header: header.slice(0, 200),
          status: reply.status,
          error: describeError(reply.error),
          setCookies: reply.setCookies.length,
          value,
        });
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(store.nonZero()).toEqual({ get: rounds });
    await sessions.close();
  });

  it(`${HTTP_REQUESTS} of the same headers over real HTTP: every answer 200, nothing reaches the error handler, 0 store reads`, async () => {
    const store = new CountingStore(createMemoryStore());
    const app = await startApp({ session: { store }, routes: mountReadRoute });
    const cookies = new ForgedCookies(SEED ^ 0xbeef, TEST_SECRET);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    const port = Number(new URL(app.url).port);
    for (let i = 0; i < HTTP_REQUESTS; i += 8) {
      const batch = Array.from({ length: 8 }, () => wireSafe(cookies.next().header));
      for (const status of await Promise.all(batch.map((cookie) => rawGet(agent, port, cookie)))) {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    agent.destroy();
    expect(Object.fromEntries(statuses)).toEqual({ 200: HTTP_REQUESTS });
    expect(app.errors).toEqual([]);
    expect(store.nonZero()).toEqual({});
  });
});

function mountReadRoute(app: Express): void {
  app.get('/read', async (req, res) => {
    res.json({ value: (await req.session.get('x')) ?? null });
  });
}

/** Node's HTTP client refuses header bytes outside tab, 0x20–0x7e and 0x80–0xff; the rest is replaced, and the size capped. */
function wireSafe(header: string): string {
  return header.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').slice(0, HTTP_HEADER_LIMIT);
}

function rawGet(agent: Agent, port: number, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/read', agent, headers: cookie === '' ? {} : { cookie } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

function describeError(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  const code = (err as { code?: unknown } | null)?.code;
  return `${err instanceof Error ? err.name : typeof err}:${typeof code === 'string' ? code : '-'}`;
}
