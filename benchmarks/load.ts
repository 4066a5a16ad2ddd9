import autocannon from 'autocannon';

/** One load run against one route. */
export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  readonly durationSec: number;
  /** One `Cookie` header per session; connection i sends cookies[i % length], so each connection is its own user. */
  readonly cookies: readonly string[];
}

/** What a load run measured, from the client's side. */
export interface LoadResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Transport errors + timeouts + non-2xx answers: any of them makes the cell suspect. */
  readonly failures: number;
}

/** Runs autocannon in this process; the server under test is always another process. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSec,
    timeout: 10,
    // Per-connection sessions, like real traffic: several connections sharing one session
    // would turn every /write into a compare-and-set conflict that no real user causes.
    setupClient: (client) => {
      const cookie = spec.cookies[next++ % Math.max(1, spec.cookies.length)];
      if (cookie !== undefined) client.setHeaders({ cookie });
    },
  });
  return {
    rps: result.duration > 0 ? result.requests.total / result.duration : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}
