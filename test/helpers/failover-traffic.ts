import type { ChildProcess } from 'node:child_process';
import { Client } from './app.js';
import { startChildApp, stopChildren } from '../reliability/helpers/app-children.js';

/*
 * Session traffic from several app processes for the failover tests: each simulated browser
 * writes a new key into its session on every request, round-robin over the processes, and every
 * reply is logged with its time, so a test can say which writes were acknowledged and when
 * writes worked again.
 */

const SERVER = 'test/reliability/children/app-server.ts';

/** One reply: which browser, through which app process (index in urls), which key it wrote, its HTTP status (0: none), when it came. */
export interface Attempt {
  readonly browser: number;
  readonly app: number;
  readonly key: string;
  readonly status: number;
  readonly at: number;
}

/** App children sharing one store URL and prefix; stop() kills them. */
export interface AppProcesses {
  readonly urls: string[];
  stop(): void;
}

/** Starts `count` app processes (`script`: which child app) on `storeUrl` and resolves once all of them listen. */
export async function startApps(
  storeUrl: string,
  prefix: string,
  count: number,
  script = SERVER,
): Promise<AppProcesses> {
  const children: ChildProcess[] = [];
  const stop = (): void => stopChildren(children, 'SIGKILL');
  try {
    const urls = await Promise.all(
      Array.from({ length: count }, () => startChildApp(script, [storeUrl, prefix], { children })),
    );
    return { urls, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** One simulated browser: a cookie jar shared by one Client per app process. */
class Browser {
  readonly #clients: Client[];
  #turn = 0;

  constructor(urls: readonly string[]) {
    this.#clients = urls.map((url) => new Client(url));
  }

  /** Sends the request to the next process, then copies the cookies it got to the others. */
  async request(
    method: 'GET' | 'POST',
    path: string,
  ): Promise<{ status: number; body: string; app: number }> {
    const app = this.#turn++ % this.#clients.length;
    const client = this.#clients[app] as Client;
    const reply = await client.request(path, { method });
    for (const other of this.#clients) {
      if (other === client) continue;
      other.jar.clear();
      for (const [k, v] of client.jar) other.jar.set(k, v);
    }
    return { status: reply.status, body: reply.body, app };
  }
}

/** Traffic running until stop(); `attempts` grows as replies arrive. */
export interface Traffic {
  readonly attempts: Attempt[];
  /** Stops issuing requests and resolves once the last ones have answered. */
  stop(): Promise<void>;
  /** For each browser, the keys whose write was answered 200 that its session no longer holds. */
  lost(): Promise<Map<number, string[]>>;
}

/**
 * Starts `browsers` browsers writing keys as fast as their replies come back; with `writers` > 1,
 * each browser first saves once (so all its writers share one session), then runs that many
 * overlapping writers on it.
 */
export function startTraffic(urls: readonly string[], browsers: number, writers = 1): Traffic {
  const attempts: Attempt[] = [];
  const all = Array.from({ length: browsers }, () => new Browser(urls));
  let running = true;
  const loops = all.map(async (browser, b) => {
    if (writers > 1)
      while (running && (await write(browser, b, `b${b}first`)) !== 200) await sleep(50);
    await Promise.all(Array.from({ length: writers }, (_, w) => writeLoop(browser, b, w)));
  });
  async function write(browser: Browser, b: number, key: string): Promise<number> {
    const { status, app } = await browser.request('POST', `/set/${key}/1`).then(
      (r) => r,
      () => ({ status: 0, app: -1 }),
    );
    attempts.push({ browser: b, app, key, status, at: Date.now() });
    return status;
  }
  async function writeLoop(browser: Browser, b: number, w: number): Promise<void> {
    for (let n = 0; running; n++) {
      const status = await write(browser, b, `b${b}w${w}k${n}`);
      // A failed write is retried after a pause, as a user would; no pause keeps failures from spinning.
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    attempts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
    lost: async () => {
      const lost = new Map<number, string[]>();
      for (const [b, browser] of all.entries()) {
        const reply = await browser.request('GET', '/all');
        const held =
          reply.status === 200 ? (JSON.parse(reply.body) as Record<string, unknown>) : {};
        const acked = attempts.filter((a) => a.browser === b && a.status === 200).map((a) => a.key);
        const missing = acked.filter((key) => !(key in held));
        if (reply.status !== 200 || missing.length > 0)
          lost.set(b, reply.status === 200 ? missing : [`GET /all answered ${reply.status}`]);
      }
      return lost;
    },
  };
}

/** For each browser, ms from `since` to its first write answered 200 at or after it (Infinity: none). */
export function recoveryTimes(
  attempts: readonly Attempt[],
  browsers: number,
  since: number,
): number[] {
  return Array.from({ length: browsers }, (_, b) => {
    const first = attempts.find((a) => a.browser === b && a.status === 200 && a.at >= since);
    return first === undefined ? Number.POSITIVE_INFINITY : first.at - since;
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
