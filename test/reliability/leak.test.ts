import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STORES_UNDER_TEST } from '../helpers/stores.js';
import { describeWithServer } from '../helpers/services.js';
import { TEST_SECRET } from '../helpers/app.js';
import { collect, sourceArgs } from '../e2e/from-source.js';
import { EXIT_LIMIT_MS, expectExitsByItself, idleUrl } from './helpers/idle-exit.js';

/*
 * Measured in child processes: --expose-gc is needed for a meaningful heap figure, and "the
 * process exits by itself" can only be observed from outside. Children run the TypeScript sources
 * through the e2e loader hooks (test/e2e/from-source.ts), never a stale dist/ build.
 */
const LIFETIMES = 50_000;
const WARMUP = 5_000;
const FILE_LIFETIMES = 2_000;
// The runner logs in as 25 distinct users; an emptied user index lingers briefly by design, so at
// most one record per user may remain, and the measured run must not add to it.
const USERS = 25;
// 50,000 retained sessions would hold well over 15 MB; after full GCs the heap of a clean run
// moves by well under 1 MB, so 4 MB separates the two with room for allocator noise.
const HEAP_MARGIN = 4 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'kvsession-leak-'));
// At the file's end: vitest's workers never saw the process's 'exit' event, and the directory stayed.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Probe {
  before: { size: number; heap: number };
  after: { size: number; heap: number; pending: number };
}

async function probe(kind: string, lifetimes: number, warmup: number): Promise<Probe> {
  const args = sourceArgs('test/reliability/children/leak-runner.ts', [
    kind,
    String(lifetimes),
    String(warmup),
    join(dir, kind),
  ]);
  const child = spawn(process.execPath, ['--expose-gc', ...args], {
    env: { ...process.env, KVSESSION_TEST_SECRET: TEST_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = await collect(child, 170_000);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(result.stdout) as Probe;
}

describe('no leaks', () => {
  it(`${LIFETIMES} sessions created and destroyed in-process: memory store back to its baseline size, heap flat within 4 MB`, async () => {
    const { before, after } = await probe('memory', LIFETIMES, WARMUP);
    console.info(
      `memory store: ${before.size} → ${after.size} entries; heap ${(before.heap / 1048576).toFixed(2)} → ${(after.heap / 1048576).toFixed(2)} MB over ${LIFETIMES} lifetimes`,
    );
    expect(after.size).toBe(before.size);
    expect(before.size).toBeLessThanOrEqual(USERS);
    expect(after.heap - before.heap).toBeLessThan(HEAP_MARGIN);
  }, 180_000);

  it(`${FILE_LIFETIMES} sessions created and destroyed on the file store: no session file left, no queued operation left`, async () => {
    const { before, after } = await probe('file', FILE_LIFETIMES, 100);
    expect({ size: after.size, pending: after.pending }).toEqual({ size: before.size, pending: 0 });
    expect(before.size).toBeLessThanOrEqual(USERS);
  }, 180_000);
});

for (const target of STORES_UNDER_TEST) {
  const name = `background timers and connections on ${target.name}`;
  const tests = (): void => {
    it(
      'a process that used kvSession once (pruneInterval 300 ms) and never closed it exits by itself',
      async () => {
        const url = idleUrl(target.name, dir);
        expect(url, `no idle-exit URL for store ${target.name}`).toBeDefined();
        await expectExitsByItself(url as string);
      },
      EXIT_LIMIT_MS + 10_000,
    );
  };
  if (target.serverUrl === undefined) describe(name, tests);
  else await describeWithServer(name, target.serverUrl, tests);
}
