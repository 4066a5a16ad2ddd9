import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFromSource } from '../e2e/from-source.js';
import { createStore } from '../../stores/index.js';
import { decodeRecord } from '../../src/record.js';
import { randomPrefix } from '../helpers/services.js';

/*
 * A writer child streams updates to several sessions of a local-disk store (file, SQLite: the two
 * whose durability is ours; Redis and Postgres durability is their servers') and is SIGKILLed at a
 * random moment, again and again on the same data. Children run the TypeScript sources through the
 * e2e loader hooks (test/e2e/from-source.ts), so they never run a stale dist/ build.
 */
const KILLS = 20;
const SESSIONS = 6;
const WRITER = 'test/reliability/children/crash-writer.ts';
// Only a guard against a writer that never comes up; not a speed assertion.
const START_LIMIT_MS = 30_000;

const root = await mkdtemp(join(tmpdir(), 'kvsession-crash-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const TARGETS = [
  { name: 'file', url: (dir: string) => `file://${join(dir, 'sessions')}` },
  { name: 'sqlite', url: (dir: string) => `sqlite://${join(dir, 'sessions.db')}` },
];

/** What one writer run printed before it was killed. */
interface Run {
  readonly starts: Map<string, number>;
  readonly acked: Map<string, number>;
  readonly tried: Map<string, number>;
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
}

/** Starts the writer, kills it with SIGKILL `delayMs` after it reports every session open. */
function runAndKill(url: string, prefix: string, delayMs: number): Promise<Run> {
  const child = startFromSource(WRITER, [url, prefix, String(SESSIONS)]);
  const run = {
    starts: new Map<string, number>(),
    acked: new Map<string, number>(),
    tried: new Map<string, number>(),
    stderr: '',
    signal: null as NodeJS.Signals | null,
  };
  let buffer = '';
  const guard = setTimeout(() => child.kill('SIGKILL'), START_LIMIT_MS);
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [verb, key, n] = line.split(' ');
      if (verb === 'go') setTimeout(() => child.kill('SIGKILL'), delayMs);
      else if (verb === 'start') run.starts.set(key as string, Number(n));
      else if (verb === 'ack') run.acked.set(key as string, Number(n));
      else if (verb === 'try') run.tried.set(key as string, Number(n));
    }
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (_status, signal) => {
      clearTimeout(guard);
      resolve({ ...run, signal });
    });
  });
}

describe.each(TARGETS)('$name store: a writer SIGKILLed mid-save', ({ name, url: urlFor }) => {
  it(`${KILLS} kills at random moments: every record decodes and holds the last acknowledged or the in-flight counter`, async () => {
    const dir = await mkdtemp(join(root, `${name}-`));
    const url = urlFor(dir);
    const prefix = randomPrefix('crash');
    let found = new Map<string, number>();
    const outcomes = { acked: 0, inFlight: 0, saves: 0 };
    for (let kill = 0; kill < KILLS; kill++) {
      const run = await runAndKill(url, prefix, 20 + Math.floor(Math.random() * 280));
      expect({ kill, signal: run.signal, stderr: run.stderr }).toEqual({
        kill,
        signal: 'SIGKILL',
        stderr: '',
      });
      // A restarted writer starts from exactly what the last check read: nothing reverted in between.
      if (kill > 0) expect(Object.fromEntries(run.starts)).toEqual(Object.fromEntries(found));
      const store = createStore(url, { prefix });
      const now = new Map<string, number>();
      for (const [key, start] of run.starts) {
        const entry = await store.get(key);
        const record = entry === undefined ? undefined : decodeRecord(entry.value);
        expect(record, `${key} after kill ${kill}`).toBeDefined();
        const n = record?.data['n'] as number;
        const acked = run.acked.get(key) ?? start;
        const tried = run.tried.get(key);
        expect(
          n === acked || (tried === acked + 1 && n === tried),
          `${key} after kill ${kill}: stored ${n}, acked ${acked}, in flight ${String(tried)}`,
        ).toBe(true);
        if (n === acked) outcomes.acked++;
        else outcomes.inFlight++;
        outcomes.saves += acked - start;
        now.set(key, n);
      }
      expect(now.size).toBe(SESSIONS);
      found = now;
      await store.close();
    }
    // Sanity: the kills really interrupted a stream of saves, not an idle writer.
    expect(outcomes.saves).toBeGreaterThan(KILLS);
    console.info(
      `${name}: ${KILLS} kills, ${outcomes.saves} acknowledged saves, records found at the acked value ${outcomes.acked}×, at the in-flight value ${outcomes.inFlight}×`,
    );

    if (name === 'file') {
      const files = join(dir, 'sessions');
      const temps = (await readdir(files)).filter((f) => f.endsWith('.tmp'));
      console.info(`file: ${temps.length} stray temp files left by ${KILLS} kills`);
      // Prune leaves temp files younger than 5 s (a live writer's); these writers are dead, so age them.
      const past = new Date(Date.now() - 60_000);
      for (const temp of temps) await utimes(join(files, temp), past, past);
      const store = createStore(url, { prefix });
      expect(await store.prune()).toBe(0);
      expect((await readdir(files)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      for (const [key, n] of found)
        expect(decodeRecord((await store.get(key))?.value ?? '')?.data['n']).toBe(n);
      await store.close();
    }
  }, 240_000);
});
