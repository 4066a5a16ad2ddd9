import autocannon from 'autocannon';
import type { LoadResult } from '../load.js';

/** A request as autocannon's setupRequest sees it. */
interface RequestParams {
  readonly headers?: Readonly<Record<string, string>>;
}

/** What this file reads of autocannon's result. */
interface Outcome {
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly requests: { readonly total: number };
}

// ../autocannon.d.ts declares what ../load.ts uses; per-request setup and the stoppable instance
// autocannon returns are declared here, for this file only.
const launch = autocannon as unknown as (
  options: Record<string, unknown>,
) => Promise<Outcome> & { stop(): void };

/** Load on one route whose every request carries the cookie of a session drawn at random. */
export interface RandomLoadSpec {
  readonly url: string;
  readonly connections: number;
  /** Seconds; the load may be stopped earlier. */
  readonly durationSec: number;
  /** Sessions 0..population-1 are drawn from. */
  readonly population: number;
  /** The `Cookie` header of session i. */
  readonly cookie: (i: number) => string;
}

/** A load under way: its result once it ends, and a way to end it early. */
export interface RunningLoad {
  readonly result: Promise<LoadResult>;
  stop(): void;
}

/**
 * Starts autocannon with a fresh random session per request (not per connection, as ../load.ts
 * does): with a million sessions, ten fixed ones would stay in every cache the store has.
 */
export function startRandomLoad(spec: RandomLoadSpec): RunningLoad {
  const instance = launch({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSec,
    timeout: 10,
    requests: [
      {
        setupRequest: (request: RequestParams): RequestParams => ({
          ...request,
          headers: {
            ...request.headers,
            cookie: spec.cookie(Math.floor(Math.random() * spec.population)),
          },
        }),
      },
    ],
  });
  return {
    stop: () => instance.stop(),
    result: instance.then((r) => ({
      rps: r.duration > 0 ? r.requests.total / r.duration : 0,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      requests: r.requests.total,
      failures: r.errors + r.timeouts + r.non2xx,
    })),
  };
}

/** Runs random-cookie load for its whole duration. */
export function randomLoad(spec: RandomLoadSpec): Promise<LoadResult> {
  return startRandomLoad(spec).result;
}
