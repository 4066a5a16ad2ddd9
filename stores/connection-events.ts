import createDebug from 'debug';

// The core namespace, as src/store-events.ts: `DEBUG=kvsession` shows connections with failures and conflicts.
const log = createDebug('kvsession');

/** Anything with an EventEmitter's on/off: node-redis clients, clusters, sentinels and pg pools. */
interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

type Describe = (...args: unknown[]) => string;

// Only addresses and error messages are printed, never a URL (it may hold a password) nor any key.
const node = (info: unknown): string => {
  const { host, port } = (info ?? {}) as { host?: unknown; port?: unknown };
  return host === undefined ? 'a node' : `${String(host)}:${String(port)}`;
};
// Driver messages name hosts, not URLs; credentials in any URL-like text are cut out all the same.
const reason = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).replace(/\/\/[^@/\s]*@/g, '//');

const REDIS_EVENTS: Record<string, Describe> = {
  connect: () => 'connected',
  ready: () => 'ready',
  reconnecting: () => 'reconnecting',
  end: () => 'connection closed',
  error: (err) => `error: ${reason(err)}`,
  // A cluster reports each node's connection.
  'node-connect': (info) => `node ${node(info)} connected`,
  'node-ready': (info) => `node ${node(info)} ready`,
  'node-reconnecting': (info) => `node ${node(info)} reconnecting`,
  'node-disconnect': (info) => `node ${node(info)} disconnected`,
  'node-error': (err, info) => `node ${node(info)} error: ${reason(err)}`,
  // A sentinel reports failovers as topology changes.
  'topology-change': (event) => {
    const { type, node: to } = (event ?? {}) as { type?: unknown; node?: unknown };
    return type === 'MASTER_CHANGE'
      ? `failover: the master is now ${node(to)}`
      : `topology change: ${String(type)}`;
  },
  'client-error': (event) =>
    `client error: ${reason((event as { error?: unknown } | undefined)?.error)}`,
};

const PG_EVENTS: Record<string, Describe> = {
  connect: () => 'pool opened a connection',
  remove: () => 'pool closed a connection',
  // No 'error' listener: on an app's pool it would hide the crash an unheard 'error' event causes.
};

/**
 * Logs a connection's connects, reconnects, failovers and errors to `DEBUG=kvsession`. Does nothing
 * (adds no listener) while that namespace is off; returns what removes the listeners again.
 */
export function watchConnection(store: 'redis' | 'postgres', emitter: unknown): () => void {
  if (!log.enabled) return () => undefined;
  const target = emitter as Emitter;
  const listeners = Object.entries(store === 'redis' ? REDIS_EVENTS : PG_EVENTS).map(
    ([event, describe]) => {
      const listener = (...args: unknown[]): void => log('%s %s', store, describe(...args));
      target.on(event, listener);
      return [event, listener] as const;
    },
  );
  return () => {
    for (const [event, listener] of listeners) target.off(event, listener);
  };
}

/** Logs one connection event that no driver event reports (e.g. a cluster failover we noticed). */
export function logConnection(store: 'redis' | 'postgres', message: string): void {
  if (log.enabled) log('%s %s', store, message);
}
