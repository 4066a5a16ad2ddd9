import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import type { Backend } from './backend.js';
import { chunks } from './backend.js';
import { control } from './control.js';

/** How one library lays session i out in Redis: its key (after the prefix) and its value. */
export interface RedisRows {
  key(i: number): string;
  value(i: number, now: number): string;
}

/**
 * Redis keys under this run's prefix, written as the library's store writes them: SET key value
 * PXAT ms (kvsession's RedisStore; connect-redis sets the same with EX, a relative expiry).
 */
export function redisBackend(url: string, prefix: string, rows: RedisRows): Backend {
  let client: ReturnType<typeof createClient> | undefined;
  let filled = 0;
  const connect = async (): Promise<ReturnType<typeof createClient>> => {
    if (client !== undefined) return client;
    const c = createClient({ url });
    c.on('error', () => {}); // a failed command rejects too; an unheard 'error' event would throw
    await c.connect();
    client = c;
    return c;
  };
  return {
    async fill(from, to, expiresAt) {
      const c = await connect();
      const now = Date.now();
      // Commands sent in one turn of the event loop go out as one pipeline.
      for (const [start, end] of chunks(from, to, 2000)) {
        const sets: Promise<unknown>[] = [];
        for (let i = start; i < end; i++) {
          const value = rows.value(i, now);
          sets.push(c.sendCommand(['SET', prefix + rows.key(i), value, 'PXAT', `${expiresAt}`]));
        }
        await Promise.all(sets);
      }
      filled = Math.max(filled, to);
    },
    async bytesPerSession() {
      // MEMORY USAGE of 200 sessions spread over the population: the server is shared, so its
      // total memory moves with other users' keys.
      const c = await connect();
      const step = Math.max(1, Math.floor(filled / 200));
      let bytes = 0;
      let n = 0;
      for (let i = 0; i < filled; i += step, n++) {
        bytes += Number(await c.sendCommand(['MEMORY', 'USAGE', prefix + rows.key(i)]));
      }
      return bytes / Math.max(1, n);
    },
    async count() {
      let n = 0;
      for await (const keys of (await connect()).scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
        n += keys.length;
      return n;
    },
    async cleanup() {
      const c = client ?? (await connect().catch(() => undefined));
      client = undefined;
      if (c === undefined) return;
      for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await c.unlink(keys);
      }
      await c.quit().catch(() => {});
    },
  };
}

const run = promisify(execFile);

/**
 * A store that lives in (memory) or is written by (file) the server process: it fills itself. Bytes
 * per session: the server's resident set growth since start for memory, disk usage of the
 * directory for file.
 */
export function serverFilledBackend(port: number, fileDir: string | undefined): Backend {
  let baseRss: number | undefined;
  let filled = 0;
  const rss = async (): Promise<number> => (await control(port, 'memory')).rss ?? 0;
  return {
    async fill(from, to, expiresAt) {
      baseRss ??= await rss();
      await control(port, 'fill', { from, to, expiresAt });
      filled = Math.max(filled, to);
    },
    async bytesPerSession(count) {
      if (fileDir !== undefined) {
        const { stdout } = await run('du', ['-s', '--block-size=1', fileDir]);
        return Number(stdout.split(/\s/)[0]) / count;
      }
      return ((await rss()) - (baseRss ?? 0)) / count;
    },
    count: () => Promise.resolve(filled),
    cleanup: () => Promise.resolve(),
  };
}
