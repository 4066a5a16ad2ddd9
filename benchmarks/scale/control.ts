import type { Express } from 'express';

/*
 * The scale servers' control routes, mounted before the session middleware (paths under /__ are
 * not counted as benchmark requests): HTTP rather than IPC so spawn.ts's servers serve as they are.
 */

/** What a control request may carry: the sessions to fill and their expiry. */
export interface FillRange {
  /** Sessions from..to-1 of the population, expiring at `expiresAt` (ms). */
  readonly from: number;
  readonly to: number;
  readonly expiresAt: number;
}

/** A control route's answer. */
export interface ControlReply {
  /** Time the operation took in the server, ms. */
  readonly ms: number;
  /** prune: records removed, when the store says. */
  readonly removed?: number;
  /** memory: resident set and V8 heap after two full collections, bytes. */
  readonly rss?: number;
  readonly heapUsed?: number;
}

/** What a server can do when asked; those it lacks answer 404. */
export interface ControlHandlers {
  fill?(range: FillRange): Promise<void>;
  prune?(): Promise<number | undefined>;
  memory?(): Promise<{ rss: number; heapUsed: number }>;
}

/** Mounts POST /__scale/{fill,prune,memory}. Call before the session middleware. */
export function mountControl(app: Express, handlers: ControlHandlers): void {
  const route = (name: string, run: (query: Record<string, unknown>) => Promise<object>): void => {
    app.post(`/__scale/${name}`, (req, res) => {
      const started = performance.now();
      run(req.query).then(
        (body) => res.json({ ...body, ms: performance.now() - started }),
        (err: unknown) => res.status(500).send(err instanceof Error ? err.message : String(err)),
      );
    });
  };
  const { fill, prune, memory } = handlers;
  if (fill !== undefined)
    route('fill', async (q) => {
      await fill({
        from: Number(q['from']),
        to: Number(q['to']),
        expiresAt: Number(q['expiresAt']),
      });
      return {};
    });
  if (prune !== undefined) route('prune', async () => ({ removed: await prune() }));
  if (memory !== undefined) route('memory', () => memory());
}

/** Asks the server on `port` to run control operation `name`; throws on any non-2xx answer. */
export async function control(
  port: number,
  name: 'fill' | 'prune' | 'memory',
  range?: FillRange,
): Promise<ControlReply> {
  const query = range === undefined ? '' : `?${new URLSearchParams(numbers(range)).toString()}`;
  const res = await fetch(`http://127.0.0.1:${port}/__scale/${name}${query}`, { method: 'POST' });
  const body = await res.text();
  if (!res.ok) throw new Error(`/__scale/${name} answered ${res.status} ${body.slice(0, 200)}`);
  return JSON.parse(body) as ControlReply;
}

function numbers(range: FillRange): Record<string, string> {
  return { from: String(range.from), to: String(range.to), expiresAt: String(range.expiresAt) };
}
