import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  KvSessionMiddleware,
  KvSessionOptions,
  SessionRequest,
  SessionStore,
} from '../src/index.js';
import { StoreDecorator, isSessionKey, kvSession } from '../src/index.js';

/** The secret the suite's app signs with; any valid kvsession secret would do. */
export const SECRET = 'conformance-seal-secret-0123456789abcdef';

/** One login as the app's route reported it. */
export interface LoggedIn {
  /** The `name=value` pair to send back. */
  readonly cookie: string;
  readonly id: string;
  readonly handle: string;
  /** The store key of its session record: the last one created, so meaningful for logins one at a time. */
  readonly key: string;
}

/** An app over `node:http` whose only routes sign a user in and say whose session a cookie carries. */
export interface LoginApp {
  /** kvSession()'s middleware and management API. */
  readonly sessions: KvSessionMiddleware;
  /** Every record text the core wrote, by store key. */
  readonly written: ReadonlyMap<string, string>;
  login(userId: string): Promise<LoggedIn>;
  /** The user the cookie's session is bound to; undefined when it carries no session. */
  userOf(cookie: string): Promise<string | undefined>;
  /** Stops the server; the store stays open for the suite to clear and close. */
  stop(): Promise<void>;
}

/** Remembers what the core writes, so a test can find a session's record the way a leak would. */
class Witness extends StoreDecorator {
  readonly written = new Map<string, string>();
  lastSession: string | undefined;

  override async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    const created = await super.create(key, value, expiresAt);
    if (created) this.#saw(key, value);
    return created;
  }

  override async update(
    key: string,
    expected: string,
    value: string,
    expiresAt: number,
  ): Promise<boolean> {
    const updated = await super.update(key, expected, value, expiresAt);
    if (updated) this.#saw(key, value);
    return updated;
  }

  #saw(key: string, value: string): void {
    this.written.set(key, value);
    if (isSessionKey(key)) this.lastSession = key;
  }
}

/** Starts a LoginApp on 127.0.0.1 over `store`, with `options` added to the suite's own. */
export async function startLoginApp(
  store: SessionStore,
  sealRecords: boolean,
  options: Partial<KvSessionOptions> = {},
): Promise<LoginApp> {
  const witness = new Witness(store);
  const sessions = kvSession({
    secret: SECRET,
    store: witness,
    sealRecords,
    pruneInterval: false,
    ...options,
  });
  const server = createServer((req, res) => {
    sessions(req, res, (err) => {
      if (err !== undefined) return fail(res, err);
      route(req as SessionRequest, new URL(req.url ?? '/', 'http://app')).then(
        (body) => res.end(JSON.stringify(body ?? null)),
        (e: unknown) => fail(res, e),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (path: string, cookie?: string): Promise<Response> => {
    const res = await fetch(base + path, cookie === undefined ? {} : { headers: { cookie } });
    assert.equal(res.status, 200, await res.clone().text());
    return res;
  };
  return {
    sessions,
    written: witness.written,
    async login(userId) {
      const res = await call(`/login?user=${encodeURIComponent(userId)}`);
      const { id, handle } = (await res.json()) as { id: string; handle: string };
      const cookie = res.headers.getSetCookie()[0]?.split(';')[0];
      assert.ok(cookie !== undefined && witness.lastSession !== undefined);
      return { cookie, id, handle, key: witness.lastSession };
    },
    async userOf(cookie) {
      return ((await (await call('/user', cookie)).json()) as string | null) ?? undefined;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function route(req: SessionRequest, url: URL): Promise<unknown> {
  if (url.pathname === '/login') {
    await req.session.login(url.searchParams.get('user') ?? '');
    return { id: req.session.id, handle: req.session.handle };
  }
  return req.session.userId();
}

function fail(res: ServerResponse, err: unknown): void {
  res.statusCode = 500;
  res.end(String(err));
}

/** Runs `fn` on a LoginApp over `store`, stopping it afterwards. */
export async function withLoginApp(
  store: SessionStore,
  sealRecords: boolean,
  fn: (app: LoginApp) => Promise<void>,
  options: Partial<KvSessionOptions> = {},
): Promise<void> {
  const app = await startLoginApp(store, sealRecords, options);
  try {
    await fn(app);
  } finally {
    await app.stop();
  }
}
