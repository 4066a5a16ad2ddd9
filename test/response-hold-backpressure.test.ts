import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { CountingStore } from './helpers/counting-store.js';
import { TEST_SECRET, deferred, startApp } from './helpers/app.js';
import { createMemoryStore } from '../stores/memory.js';
import { startFromSource } from './e2e/from-source.js';

const MB = 1024 * 1024;

describe('backpressure while a response is held', () => {
  it("write() answers false past writableHighWaterMark while held, and 'drain' fires only after the save", async () => {
    const store = new CountingStore(createMemoryStore());
    const seen: { answers: boolean[]; hwm: number; drainedBeforeSave: boolean } = {
      answers: [],
      hwm: 0,
      drainedBeforeSave: false,
    };
    const drained = deferred();
    let saved = false;
    const t = await startApp({
      session: { store },
      routes: (app) =>
        app.get('/chunks', (req, res) => {
          req.session.set('x', 'y');
          seen.hwm = res.writableHighWaterMark;
          const half = Buffer.alloc(seen.hwm / 2 + 1, 97);
          res.once('drain', () => {
            seen.drainedBeforeSave = !saved;
            res.end();
            drained.resolve();
          });
          seen.answers.push(res.write(half), res.write(half));
        }),
    });
    const held = store.hold('create');
    const reply = t.client().get('/chunks');
    await held.reached;
    saved = true;
    held.release();
    await drained.promise;
    const body = (await reply).body;
    expect(seen.answers).toEqual([true, false]);
    expect(seen.drainedBeforeSave).toBe(false);
    expect(body.length).toBe(2 * (seen.hwm / 2 + 1));
  });

  describe('100 MB piped during a 1.5 s save (child process)', () => {
    let child: ChildProcess | undefined;
    afterAll(() => {
      child?.kill('SIGKILL');
    });

    it('pulls no more than the stream buffers from the source while the save runs, and every byte arrives', async () => {
      child = startFromSource('test/reliability/children/piped-download.ts', [], {
        env: { KVSESSION_TEST_SECRET: TEST_SECRET },
      });
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[
        Symbol.asyncIterator
      ]();
      const next = async (): Promise<string> => String((await lines.next()).value);
      const [, port] = (await next()).split(' ');
      const download = async (mb: number): Promise<{ bytes: number; duringSave: number }> => {
        const res = await fetch(`http://127.0.0.1:${port}/stream?mb=${mb}&session=1`);
        let bytes = 0;
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
        const [, duringSave] = (await next()).split(' ');
        return { bytes, duringSave: Number(duringSave) };
      };
      const held = await download(100);
      expect(held.bytes).toBe(100 * MB);
      // At most Readable.from's 16 chunks of 64 KB plus the hold's one high-water mark (16 KB), about
      // 1.1 MB (128 KB measured). A hold that ignored backpressure would pull all 100 MB during the save.
      expect(held.duringSave).toBeGreaterThan(0);
      expect(held.duringSave).toBeLessThan(2 * MB);
      child.kill();
      await once(child, 'exit');
      child = undefined;
    }, 60_000);
  });
});
