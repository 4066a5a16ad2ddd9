import type { Express } from 'express';
import type { Session } from '../../src/session.js';

/** A route the cross-store suite needs, written once for Express and for plain node:http. */
export interface SuiteRoute {
  readonly method: 'GET' | 'POST';
  /** Express-style path: `:name` segments become params. */
  readonly path: string;
  /** Answers the JSON body of a 200 reply. */
  handle(session: Session, params: Record<string, string>): Promise<unknown>;
}

/** Pauses a slow route between its read and its change: `pause(gate)` resolves when the test says go. */
export type Pause = (gate: string) => Promise<void>;

/**
 * The cross-store suite's routes: GET /none, /get/:key, /all, /id, /typed; POST /set/:key/:value,
 * /delete/:key, /regenerate, /destroy, /typed, and the gated /slow/:gate/set|delete/... routes.
 */
export function suiteRoutes(pause: Pause): SuiteRoute[] {
  const route = (
    method: SuiteRoute['method'],
    path: string,
    handle: SuiteRoute['handle'],
  ): SuiteRoute => ({ method, path, handle });
  return [
    route('GET', '/none', async () => ({ ok: true })),
    route('GET', '/get/:key', async (s, p) => ({
      value: (await s.get(p['key'] as string)) ?? null,
    })),
    route('GET', '/all', (s) => s.all()),
    route('GET', '/id', async (s) => {
      await s.has('x');
      return { id: s.id ?? null };
    }),
    route('POST', '/set/:key/:value', async (s, p) => ok(s.set(p['key'] as string, p['value']))),
    route('POST', '/delete/:key', async (s, p) => ok(s.delete(p['key'] as string))),
    route('POST', '/regenerate', async (s) => ok(await s.regenerate())),
    route('POST', '/destroy', async (s) => ok(await s.destroy())),
    route('POST', '/slow/:gate/set/:key/:value', async (s, p) => {
      await s.get(p['key'] as string);
      await pause(p['gate'] as string);
      return ok(s.set(p['key'] as string, p['value']));
    }),
    route('POST', '/slow/:gate/delete/:key', async (s, p) => {
      await s.get(p['key'] as string);
      await pause(p['gate'] as string);
      return ok(s.delete(p['key'] as string));
    }),
    route('GET', '/typed', async (s) => {
      const when = await s.get('when');
      const bytes = await s.get('bytes');
      return {
        when: when instanceof Date ? when.toISOString() : null,
        bytes: Buffer.isBuffer(bytes) ? bytes.toString('hex') : null,
      };
    }),
    route('POST', '/typed', async (s) => {
      s.set('when', new Date(Date.UTC(2031, 5, 6)));
      s.set('bytes', Buffer.from([0, 255, 16]));
      s.set('tricky', JSON.parse('{"__proto__":{"polluted":true},"$kv":"date","n":[1.5,-0.25]}'));
      return { ok: true };
    }),
  ];
}

function ok(_done: void): { ok: true } {
  return { ok: true };
}

/** Mounts the routes on an Express app. */
export function mountOnExpress(app: Express, routes: readonly SuiteRoute[]): void {
  for (const r of routes) {
    const register = r.method === 'GET' ? app.get.bind(app) : app.post.bind(app);
    register(r.path, async (req, res) => {
      res.json(await r.handle(req.session, req.params as Record<string, string>));
    });
  }
}

/** Finds the route for a method and path, with its params; undefined for a 404. */
export function matchRoute(
  routes: readonly SuiteRoute[],
  method: string,
  path: string,
): { route: SuiteRoute; params: Record<string, string> } | undefined {
  const parts = path.split('/');
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const fits = pattern.every((seg, i) => {
      const part = parts[i] as string;
      if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(part);
      return seg.startsWith(':') || seg === part;
    });
    if (fits) return { route, params };
  }
  return undefined;
}
