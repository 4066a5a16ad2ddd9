// Leak probe for leak.test.ts, run with --expose-gc so the heap can be measured after full GCs.
// Usage: leak-runner.ts <memory|file> <iterations> <warmup> [dir]
// Each iteration is a visitor's whole life in-process (no HTTP): a first request creates a session
// (every fourth logs in, which also writes the per-user index), a second request destroys it.
// Prints one JSON line: store size and heap before and after the measured iterations.
import { readdir } from 'node:fs/promises';
import { kvSession } from '../../../src/index.js';
import type { SessionStore } from '../../../src/store.js';
import { createMemoryStore } from '../../../stores/memory.js';
import { createFileStore } from '../../../stores/file.js';
import { dispatch } from '../helpers/inprocess.js';

const [kind, iterations, warmup, dir] = process.argv.slice(2) as [
  string,
  string,
  string,
  string | undefined,
];
const memory = kind === 'memory' ? createMemoryStore() : undefined;
const file = kind === 'file' ? createFileStore({ dir: dir as string }) : undefined;
const store = (memory ?? file) as SessionStore;
const sessions = kvSession({
  secret: process.env['KVSESSION_TEST_SECRET'],
  store,
  pruneInterval: false,
});
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

async function lifetime(i: number): Promise<void> {
  const created = await dispatch(sessions, undefined, async (req, res) => {
    if (i % 4 === 0) await req.session.login(`user-${i % 100}`);
    else req.session.set('cart', ['apple', i]);
    res.end();
  });
  const line = created.setCookies[0];
  if (created.status !== 200 || line === undefined)
    throw new Error(`create failed: ${created.status} ${String(created.error)}`);
  const cookie = line.slice(0, line.indexOf(';'));
  const destroyed = await dispatch(sessions, cookie, async (req, res) => {
    await req.session.destroy();
    res.end();
  });
  if (destroyed.status !== 200)
    throw new Error(`destroy failed: ${destroyed.status} ${String(destroyed.error)}`);
}

// Every entry counts, user-index records included; for the file store, every file in the directory.
const size = async (): Promise<number> =>
  memory?.size ?? (await readdir(dir as string).catch(() => [])).length;
const heap = (): number => {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
};

for (let i = 0; i < Number(warmup); i++) await lifetime(i);
const before = { size: await size(), heap: heap() };
for (let i = 0; i < Number(iterations); i++) await lifetime(i);
const after = { size: await size(), heap: heap(), pending: file?.pending ?? 0 };
process.stdout.write(`${JSON.stringify({ before, after })}\n`);
