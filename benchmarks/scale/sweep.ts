import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadResult } from '../load.js';
import type { RunningServer } from '../spawn.js';
import type { Backend } from './backend.js';
import { DAY_MS } from './population.js';
import type { ScaleArgs } from './args.js';
import type { ScaleContender } from './contenders.js';
import { randomLoad } from './load.js';

/** The scale routes: one read, one counter increment, each with a random session's cookie. */
export const SCALE_ROUTES = ['read', 'write'] as const;
export type ScaleRoute = (typeof SCALE_ROUTES)[number];

/** One contender at one population size on one route: medians over the repetitions. */
export interface SizePoint {
  readonly contender: string;
  readonly sessions: number;
  readonly route: ScaleRoute;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Every repetition's p99, so the spread is visible next to the median. */
  readonly p99s: readonly number[];
  readonly failures: number;
  /** Store bytes per session at this size (see Backend.bytesPerSession). */
  readonly bytesPerSession: number;
  /** Seconds the bulk load to this size took (from the previous size). */
  readonly fillSec: number;
}

/** Fills the contender's store size by size and measures both routes at each, `reps` times. */
export async function sweep(
  c: ScaleContender,
  server: RunningServer,
  backend: Backend,
  args: ScaleArgs,
  log: (line: string) => void,
): Promise<SizePoint[]> {
  const points: SizePoint[] = [];
  let filled = 0;
  for (const size of args.sizes.filter((s) => s <= c.maxSessions)) {
    const started = performance.now();
    await backend.fill(filled, size, Date.now() + DAY_MS);
    filled = size;
    const fillSec = (performance.now() - started) / 1000;
    const bytesPerSession = await backend.bytesPerSession(size);
    log(
      `${c.id}: ${size} sessions (filled in ${fillSec.toFixed(1)} s, ${Math.round(bytesPerSession)} B each)`,
    );
    const spec = (route: ScaleRoute, durationSec: number) => ({
      url: `http://127.0.0.1:${server.port}/${route}`,
      connections: args.connections,
      durationSec,
      population: size,
      cookie: c.cookie,
    });
    const runs: Record<ScaleRoute, LoadResult[]> = { read: [], write: [] };
    for (let rep = 0; rep < args.reps; rep++) {
      for (const route of SCALE_ROUTES) {
        // A full warm-up at each size (a store just filled has cold caches), then a short one.
        await randomLoad(spec(route, rep === 0 ? args.warmupSec : 1));
        await sleep(300);
        const result = await randomLoad(spec(route, args.durationSec));
        runs[route].push(result);
        log(
          `  /${route} rep ${rep + 1}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${result.failures > 0 ? `, ${result.failures} failed` : ''}`,
        );
      }
    }
    for (const route of SCALE_ROUTES) {
      const r = runs[route];
      points.push({
        contender: c.id,
        sessions: size,
        route,
        rps: median(r.map((x) => x.rps)),
        p50Ms: median(r.map((x) => x.p50Ms)),
        p99Ms: median(r.map((x) => x.p99Ms)),
        p99s: r.map((x) => x.p99Ms),
        failures: r.reduce((n, x) => n + x.failures, 0),
        bytesPerSession,
        fillSec,
      });
    }
  }
  return points;
}

/** The median of a non-empty list (the mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
