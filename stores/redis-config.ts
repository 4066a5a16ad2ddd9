import { KvSessionError } from '../src/errors.js';

/** Certificates and names for a TLS connection to Redis (node-redis's `socket` TLS options). */
export interface RedisTlsOptions {
  /** PEM CA certificate(s) the server's certificate must chain to (a private CA). @default Node's trusted CAs */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate, for servers that require one (mutual TLS, `tls-auth-clients yes`). */
  cert?: string | Buffer;
  /** PEM private key of `cert`. */
  key?: string | Buffer;
  /** Name checked against the server's certificate and sent as SNI. @default the host name of the URL */
  servername?: string;
}

/** A host and port of one Redis node or Sentinel. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** What a Redis URL asks for, parsed once. */
export type RedisTarget =
  | { readonly kind: 'standalone'; readonly url: string; readonly tls: boolean }
  | {
      readonly kind: 'cluster';
      readonly nodes: RedisNodeAddress[];
      readonly tls: boolean;
      readonly auth: RedisAuth;
    }
  | {
      readonly kind: 'sentinel';
      readonly nodes: RedisNodeAddress[];
      readonly master: string;
      readonly db: number;
      readonly tls: boolean;
      readonly auth: RedisAuth;
    };

/** Credentials from a URL, for the data nodes. */
export interface RedisAuth {
  readonly username?: string;
  readonly password?: string;
}

const SCHEMES =
  'redis://, rediss://, redis-cluster://, rediss-cluster://, redis-sentinel:// or rediss-sentinel://';
// scheme, optional user[:password]@, the host list, then the path.
const MULTI =
  /^(rediss?)-(cluster|sentinel):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(\/[^?#]*)?$/i;

/** Parses any of the Redis URL forms; a bad one throws ERR_KVSESSION_BAD_STORE_URL without echoing its password. */
export function parseRedisUrl(url: string): RedisTarget {
  const multi = MULTI.exec(url);
  if (multi !== null) return parseMulti(url, multi);
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (
    parsed === undefined ||
    (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') ||
    !/^\/?\d*$/.test(parsed.pathname)
  ) {
    throw badUrl(url, 'expected redis://[user:password@]host:port/db or rediss://… for TLS');
  }
  return { kind: 'standalone', url, tls: parsed.protocol === 'rediss:' };
}

function parseMulti(url: string, match: RegExpExecArray): RedisTarget {
  const [, scheme = '', kind = '', user, password, hostList = '', path = ''] = match;
  const tls = scheme.toLowerCase() === 'rediss';
  const defaultPort = kind.toLowerCase() === 'cluster' ? 6379 : 26379;
  const nodes = hostList.split(',').map((part) => parseNode(url, part, defaultPort));
  const auth: RedisAuth = {
    ...(user ? { username: decode(url, user) } : {}),
    ...(password !== undefined ? { password: decode(url, password) } : {}),
  };
  if (kind.toLowerCase() === 'cluster') {
    // A cluster has only database 0; a path would be a typo for something else.
    if (path !== '' && path !== '/')
      throw badUrl(url, 'a cluster URL has no path: redis-cluster://host:port,host:port');
    return { kind: 'cluster', nodes, tls, auth };
  }
  const sentinel = /^\/([^/]+)(?:\/(\d+))?\/?$/.exec(path);
  if (sentinel === null)
    throw badUrl(url, 'expected redis-sentinel://host:port,host:port/mastername[/db]');
  return {
    kind: 'sentinel',
    nodes,
    master: decode(url, sentinel[1] as string),
    db: Number(sentinel[2] ?? 0),
    tls,
    auth,
  };
}

function parseNode(url: string, part: string, defaultPort: number): RedisNodeAddress {
  const node = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(part);
  const port = Number(node?.[2] ?? defaultPort);
  if (node === null || port < 1 || port > 65535) throw badUrl(url, 'a host in it is not host:port');
  return { host: (node[1] as string).replace(/^\[|\]$/g, ''), port };
}

function decode(url: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badUrl(url, 'it has a malformed %-escape');
  }
}

/** Checks the `tls` option against the URL: TLS settings for a plain-text URL would silently go unused. */
export function checkTls(target: RedisTarget, tls: RedisTlsOptions | undefined): void {
  if (tls === undefined || target.tls) return;
  throw new KvSessionError(
    'ERR_KVSESSION_BAD_OPTION',
    'the redis store got `tls` options with a plain-text URL; use rediss://, rediss-cluster:// or rediss-sentinel:// to connect over TLS',
  );
}

/** node-redis `socket` TLS fields for a target (empty for plain text). */
export function tlsSocket(
  target: RedisTarget,
  tls: RedisTlsOptions | undefined,
): Record<string, unknown> {
  if (!target.tls) return {};
  const out: Record<string, unknown> = { tls: true };
  for (const name of ['ca', 'cert', 'key', 'servername'] as const)
    if (tls?.[name] !== undefined) out[name] = tls[name];
  return out;
}

/** ERR_KVSESSION_BAD_STORE_URL naming the accepted forms; the password is masked. */
function badUrl(url: string, why: string): KvSessionError {
  const shown = JSON.stringify(url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'));
  return new KvSessionError(
    'ERR_KVSESSION_BAD_STORE_URL',
    `${shown} is not a Redis URL (${why}); the redis store takes ${SCHEMES}`,
  );
}

/** The driver entry points we use; @keyv/redis re-exports node-redis's. */
export interface RedisDriver {
  createClient(options: object): unknown;
  createCluster(options: object): unknown;
  createSentinel(options: object): unknown;
}

// Keep retrying in the background for ever, so the store heals by itself when Redis returns.
const reconnectStrategy = (retries: number): number =>
  Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 50);

/** Builds (does not connect) the node-redis connection a URL asks for, with the store's timeout and TLS settings. */
export function buildConnection(
  driver: RedisDriver,
  target: RedisTarget,
  tls: RedisTlsOptions | undefined,
  timeout: number,
): unknown {
  // Commands issued while disconnected fail at once instead of queueing for the whole outage;
  // the queue cap bounds what a stalled (connected but silent) server can pile up.
  const node = {
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    socket: { connectTimeout: timeout, reconnectStrategy, ...tlsSocket(target, tls) },
  };
  switch (target.kind) {
    case 'standalone':
      return driver.createClient({ ...node, url: target.url });
    case 'cluster':
      return driver.createCluster({
        rootNodes: target.nodes.map((address) => ({ socket: address })),
        defaults: { ...node, ...target.auth },
      });
    case 'sentinel':
      return driver.createSentinel({
        name: target.master,
        sentinelRootNodes: target.nodes,
        nodeClientOptions: { ...node, ...target.auth, database: target.db },
        // Sentinels speak TLS when the data nodes do (one `tls-port` setup); their own password is not in the URL.
        sentinelClientOptions: { socket: { connectTimeout: timeout, ...tlsSocket(target, tls) } },
      });
  }
}
