import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL, describeWithServer, randomPrefix } from '../helpers/services.js';
import { Client } from '../helpers/app.js';
import { fileTable } from '../helpers/pg-tables.js';
import { startChildApp, stopChildren } from './helpers/app-children.js';

/*
 * Issue 20's contention target: 4 app processes × 8 overlapping writers per session, on Redis and
 * on Postgres, for KVSESSION_CONTENTION_SECONDS (default 60): 0 lost keys and at most 0.1% of
 * requests failing with ERR_KVSESSION_CONFLICT. Each writer owns its keys, so per-key merge must
 * keep every acknowledged write; a writer cycles through SLOTS keys so the record stays bounded,
 * and the last acknowledged value of each slot must be the one stored at the end.
 */
const SECONDS = Number(process.env['KVSESSION_CONTENTION_SECONDS'] ?? 60);
const PROCESSES = 4;
const WRITERS = 8;
const SESSIONS = 2;
const SLOTS = 16;
const MAX_CONFLICT_RATIO = 0.001;
const SERVER = 'test/reliability/children/contention-server.ts';
// Only guards against a child that never comes up; not speed assertions.
const START_LIMIT_MS = 90_000;
// The children's Postgres table: this file's own, never the default `kvsession`.
const TABLE = fileTable('contention');

const TARGETS = [
  { name: 'redis', url: REDIS_URL },
  { name: 'postgres', url: DATABASE_URL },
];

for (const target of TARGETS) {
  await describeWithServer(`contention on ${target.name}`, target.url, () =>
    contentionTests(target.url, target.name),
  );
}

/** Exits of app children while their test ran, with the end of their stderr: a crash must fail the test, not look like a slow server. */
const crashes: string[] = [];

interface Tally {
  requests: number;
  acked: number;
  conflicts: number;
  other: Record<string, number>;
}

/** One writer: sequential read-modify-write requests until `until`; returns the last acked value per slot key. */
async function writer(
  client: Client,
  name: string,
  until: number,
  tally: Tally,
): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  for (let n = 0; Date.now() < until; n++) {
    const key = `${name}_${n % SLOTS}`;
    const reply = await client.post(`/write/${key}/${n}`).catch((err: unknown) => {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      return { status: 0, json: () => ({ code: `fetch failed: ${String(cause?.code ?? err)}` }) };
    });
    tally.requests++;
    if (reply.status === 200) {
      tally.acked++;
      acked.set(key, n);
      continue;
    }
    const code = reply.json<{ code?: string }>().code ?? String(reply.status);
    if (code === 'ERR_KVSESSION_CONFLICT') tally.conflicts++;
    else tally.other[code] = (tally.other[code] ?? 0) + 1;
  }
  return acked;
}

function contentionTests(url: string, name: string): void {
  const children: ChildProcess[] = [];
  let bases: string[] = [];
  beforeAll(async () => {
    const prefix = randomPrefix(`contention-${name}`);
    const onExit = (code: number | null, signal: NodeJS.Signals | null, err: string): void => {
      if (signal !== 'SIGTERM') crashes.push(`exited ${String(code ?? signal)}: ${err}`);
    };
    bases = await Promise.all(
      [...Array(PROCESSES)].map(() =>
        startChildApp(SERVER, [url, prefix, TABLE], {
          children,
          startLimitMs: START_LIMIT_MS,
          onExit,
        }),
      ),
    );
  }, START_LIMIT_MS * 2);
  // The sessions the test wrote, ended before the children go, so the shared store keeps none of them.
  const owners: Client[] = [];
  afterAll(async () => {
    for (const owner of owners) await owner.post('/destroy').catch(() => undefined);
    stopChildren(children);
  });

  it(
    `${PROCESSES} processes × ${WRITERS} overlapping writers per session for ${SECONDS} s: 0 lost keys, ≤ 0.1% conflicts`,
    async () => {
      const tally: Tally = { requests: 0, acked: 0, conflicts: 0, other: {} };
      const sessions = owners;
      for (let s = 0; s < SESSIONS; s++) {
        const owner = new Client(bases[0] as string);
        sessions.push(owner);
        expect((await owner.post('/set/init/1')).status).toBe(200);
      }
      const until = Date.now() + SECONDS * 1000;
      const runs = sessions.flatMap((owner, s) =>
        bases.flatMap((base, p) =>
          [...Array(WRITERS).keys()].map(async (w) => {
            const client = new Client(base);
            for (const [k, v] of owner.jar) client.jar.set(k, v);
            return { session: s, acked: await writer(client, `p${p}w${w}`, until, tally) };
          }),
        ),
      );
      const results = await Promise.all(runs);
      const stored = await Promise.all(
        sessions.map(async (owner) => (await owner.get('/all')).json<Record<string, unknown>>()),
      );
      const lost: string[] = [];
      for (const { session, acked } of results) {
        for (const [key, n] of acked) {
          const value = stored[session]?.[key];
          if (value !== n) lost.push(`s${session}.${key}: acked ${n}, stored ${String(value)}`);
        }
      }
      const ratio = tally.conflicts / Math.max(1, tally.requests);
      const summary = {
        seconds: SECONDS,
        ...tally,
        conflictPercent: +(ratio * 100).toFixed(3),
        lost: lost.length,
      };
      console.log(`contention ${name}: ${JSON.stringify(summary)}`);
      expect({ lost: lost.slice(0, 10), other: tally.other, crashes }).toEqual({
        lost: [],
        other: {},
        crashes: [],
      });
      expect(tally.acked).toBeGreaterThan(0);
      expect(ratio).toBeLessThanOrEqual(MAX_CONFLICT_RATIO);
    },
    (SECONDS + 90) * 1000,
  );
}
