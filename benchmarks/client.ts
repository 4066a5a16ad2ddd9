import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerStats } from './servers/harness.js';
import type { Route } from './contenders.js';

/** Creates `n` sessions through /__setup and returns one `Cookie` header value per session. */
export async function createSessions(port: number, n: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/__setup`);
    await res.text();
    if (!res.ok) throw new Error(`/__setup answered ${res.status}`);
    const setCookie = res.headers.getSetCookie()[0];
    if (setCookie !== undefined) cookies.push(setCookie.split(';')[0] as string);
  }
  return cookies;
}

/** Fails unless `route` answers 2xx with the given cookie: a broken contender must not be measured as fast. */
export async function checkRoute(
  port: number,
  route: Route,
  cookie: string | undefined,
): Promise<void> {
  const res = await fetch(
    `http://127.0.0.1:${port}/${route}`,
    cookie === undefined ? {} : { headers: { cookie } },
  );
  const body = await res.text();
  if (!res.ok) throw new Error(`/${route} answered ${res.status} ${body.slice(0, 200)}`);
}

/**
 * Waits until the server has finished every benchmark request, so that store calls of
 * requests cut off by the load generator's stop are not counted in the next window.
 */
export async function waitIdle(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readStats(port)).inFlight > 0) {
    if (Date.now() > deadline) throw new Error(`requests still in flight after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Zeroes the server's counters. */
export async function resetStats(port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/__stats/reset`, { method: 'POST' });
  await res.text();
}

/** Reads the server's counters. */
export async function readStats(port: number): Promise<ServerStats> {
  const res = await fetch(`http://127.0.0.1:${port}/__stats`);
  return (await res.json()) as ServerStats;
}
