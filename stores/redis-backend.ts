import { logConnection, watchConnection } from './connection-events.js';

/**
 * One interface over node-redis's three connection kinds (client, cluster, sentinel), so the
 * Redis store speaks the same single-key commands to each. Every command goes to a master.
 */
export interface RedisBackend {
  /** False while the connection is known to be down, so the store can fail at once with the reason. */
  readonly ready: boolean;
  /** The last connection error the driver reported, for messages. */
  readonly lastError: unknown;
  /** Opens the connection if nobody has yet (an app may hand over an unconnected client). */
  open(): Promise<void>;
  /** Sends one command whose first key is `key`, routed to the master that owns it. */
  send(key: string, args: string[]): Promise<unknown>;
  /** One sender per master: SCAN sees a single node's keys only. */
  masters(): Promise<Array<(args: string[]) => Promise<unknown>>>;
  /** Deletes keys; on a cluster one command per key, since a multi-key command must not span slots. */
  unlink(keys: string[]): Promise<void>;
  /** Reports a failed command: a cluster re-reads its slot map (node-redis does so only on MOVED/ASK). */
  failed(): void;
  /** Lets the socket hold the process open (a command is in flight) or not. */
  ref(): void;
  /** The opposite of ref(). */
  unref(): void;
  /** Stops listening and, only when the store created the connection, ends it. */
  close(): Promise<void>;
}

/** The members of a node-redis client (createClient) we use. */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: object;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  once(event: 'ready' | 'error', listener: () => void): unknown;
  off(event: 'error', listener: (err: unknown) => void): unknown;
  destroy(): void;
  ref?(): void;
  unref?(): void;
}

/** The members of a node-redis cluster (createCluster) we use. */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: ReadonlyArray<{
    readonly client?: Pick<NodeRedisClient, 'isReady' | 'options' | 'ref' | 'unref'> | undefined;
  }>;
  // node-redis re-reads slots only on MOVED/ASK; this (typed, public, underscore-named) member lets us do it after a failover.
  readonly _slots?: { rediscover(startWith: { options?: object }): Promise<void> };
  connect(): Promise<unknown>;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  nodeClient(node: never): Promise<NodeRedisClient>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  off(event: 'error', listener: (err: unknown) => void): unknown;
  destroy(): void;
}

/** The members of a node-redis sentinel (createSentinel) we use. */
export interface NodeRedisSentinel {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  getMasterNode(): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  off(event: 'error', listener: (err: unknown) => void): unknown;
  destroy(): unknown;
}

// A cluster whose slot map still names a dead master keeps failing; re-reading it more often than
// this would only add load while the cluster has not yet promoted a replica.
const REDISCOVER_EVERY_MS = 250;

/** Wraps whichever kind of node-redis connection `conn` is; `owned`: the store created it and closes it. */
export function redisBackend(
  conn: NodeRedisClient | NodeRedisCluster | NodeRedisSentinel,
  owned: boolean,
): RedisBackend {
  if ('masters' in conn && typeof conn.nodeClient === 'function')
    return new ClusterBackend(conn, owned);
  if ('getMasterNode' in conn && typeof conn.getMasterNode === 'function')
    return new SentinelBackend(conn as NodeRedisSentinel, owned);
  return new ClientBackend(conn as NodeRedisClient, owned);
}

/** Shared plumbing: the error listener (without one node-redis would crash the process) and open(). */
abstract class BaseBackend<C extends NodeRedisClient | NodeRedisCluster | NodeRedisSentinel> {
  lastError: unknown;
  protected readonly conn: C;
  /** The store created the connection: it may unreference and close it; an app's connection it leaves alone. */
  protected readonly owned: boolean;
  #opening: Promise<unknown> | undefined;
  readonly #unwatch: () => void;
  readonly #onError = (err: unknown): void => {
    this.lastError = err;
  };

  constructor(conn: C, owned: boolean) {
    this.conn = conn;
    this.owned = owned;
    conn.on('error', this.#onError);
    this.#unwatch = watchConnection('redis', conn);
  }

  async open(): Promise<void> {
    if (!this.conn.isOpen) {
      this.#opening ??= this.conn.connect().finally(() => (this.#opening = undefined));
    }
    await this.#opening;
  }

  failed(): void {}

  ref(): void {}

  unref(): void {}

  async close(): Promise<void> {
    this.conn.off('error', this.#onError);
    this.#unwatch();
    // The app's own connection stays open: it may serve other code, and the app closes it (as with connect-redis).
    if (!this.owned) return;
    // A connection that is down keeps an error listener, or its reconnect attempts would crash the process.
    this.conn.on('error', () => undefined);
    await this.conn.destroy();
  }
}

class ClientBackend extends BaseBackend<NodeRedisClient> implements RedisBackend {
  #firstAttempt: Promise<void> | undefined;

  get ready(): boolean {
    return this.conn.isReady;
  }

  /**
   * A client's connect() keeps retrying until Redis answers, so only its first attempt is waited
   * for: while Redis stays down, commands must fail at once with the reason, not wait for a reconnect.
   */
  override async open(): Promise<void> {
    if (this.#firstAttempt === undefined && !this.conn.isOpen) {
      this.#firstAttempt = new Promise<void>((resolve) => {
        this.conn.once('ready', resolve);
        this.conn.once('error', resolve);
      });
      this.conn.connect().catch((err: unknown) => (this.lastError = err));
    }
    await this.#firstAttempt;
  }

  send(_key: string, args: string[]): Promise<unknown> {
    return this.conn.sendCommand(args);
  }

  async masters(): Promise<Array<(args: string[]) => Promise<unknown>>> {
    return [(args) => this.conn.sendCommand(args)];
  }

  async unlink(keys: string[]): Promise<void> {
    await this.conn.sendCommand(['UNLINK', ...keys]);
  }

  override ref(): void {
    if (this.owned) this.conn.ref?.();
  }

  override unref(): void {
    if (this.owned) this.conn.unref?.();
  }
}

class ClusterBackend extends BaseBackend<NodeRedisCluster> implements RedisBackend {
  #lastRediscover = 0;

  get ready(): boolean {
    // isOpen turns true before slot discovery ends; commands sent then fail (`reading 'replicas'`).
    return this.conn.isOpen && this.conn.masters.length > 0;
  }

  override async open(): Promise<void> {
    await super.open();
    // Someone else's connect() may still be discovering slots: wait for it (the caller's timeout bounds this).
    while (this.conn.isOpen && this.conn.masters.length === 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  send(key: string, args: string[]): Promise<unknown> {
    return this.conn.sendCommand(key, false, args);
  }

  async masters(): Promise<Array<(args: string[]) => Promise<unknown>>> {
    const clients = await Promise.all(
      this.conn.masters.map((node) => this.conn.nodeClient(node as never)),
    );
    return clients.map((client) => (args: string[]) => client.sendCommand(args));
  }

  async unlink(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.conn.sendCommand(key, false, ['UNLINK', key])));
  }

  // Each master has its own socket; a node client node-redis creates later (after a failover) starts
  // referenced and is unreferenced when the store next goes idle.
  override ref(): void {
    if (this.owned) for (const node of this.conn.masters) node.client?.ref?.();
  }

  override unref(): void {
    if (this.owned) for (const node of this.conn.masters) node.client?.unref?.();
  }

  override failed(): void {
    const slots = this.conn._slots;
    if (
      slots === undefined ||
      !this.conn.isOpen ||
      performance.now() - this.#lastRediscover < REDISCOVER_EVERY_MS
    )
      return;
    // Start from a master that still answers; if none does, node-redis falls back to the root nodes.
    const start =
      this.conn.masters.find((node) => node.client?.isReady === true)?.client ??
      this.conn.masters[0]?.client;
    // Without a node's own options node-redis would try its default host, which is not part of this cluster.
    if (start?.options === undefined) return;
    this.#lastRediscover = performance.now();
    logConnection('redis', 'cluster: a command failed, re-reading the slot map (failover?)');
    // Errors are reported through the cluster's 'error' event; the next failure tries again.
    slots.rediscover({ options: start.options }).catch(() => undefined);
  }
}

class SentinelBackend extends BaseBackend<NodeRedisSentinel> implements RedisBackend {
  get ready(): boolean {
    return this.conn.isOpen;
  }

  send(_key: string, args: string[]): Promise<unknown> {
    return this.conn.sendCommand(false, args);
  }

  async masters(): Promise<Array<(args: string[]) => Promise<unknown>>> {
    return [(args) => this.conn.sendCommand(false, args)];
  }

  async unlink(keys: string[]): Promise<void> {
    await this.conn.sendCommand(false, ['UNLINK', ...keys]);
  }
}
