import type { DataChanges, SessionStore, StoreCapabilities, StoreEntry } from './store.js';

/** Every session operation of the store contract, by name (`warm` is none: it only connects). */
export type StoreOperation =
  | 'get'
  | 'create'
  | 'update'
  | 'touch'
  | 'delete'
  | 'prune'
  | 'count'
  | 'clear'
  | 'close'
  | 'mergeData';

/**
 * The one way to wrap a store (simplekv's StoreDecorator): forwards every member to `inner`, each
 * operation through `intercept`, which subclasses override to bound, count or fault operations.
 * Optional members exist only when `inner` has them, so a wrapper never claims a capability it lacks.
 */
export class StoreDecorator implements SessionStore {
  readonly name: string;
  readonly prefix: string;
  readonly capabilities: StoreCapabilities;
  declare readonly prune?: (progress?: () => void) => Promise<number>;
  declare readonly count?: () => Promise<number>;
  declare readonly clear?: () => Promise<void>;
  declare readonly warm?: () => Promise<void>;
  declare readonly mergeData?: (
    key: string,
    changes: DataChanges,
    maxBytes: number,
    expiresAt: number,
  ) => Promise<StoreEntry | undefined>;

  constructor(readonly inner: SessionStore) {
    this.name = inner.name;
    this.prefix = inner.prefix;
    this.capabilities = inner.capabilities;
    const optional: Partial<
      Pick<SessionStore, 'prune' | 'count' | 'clear' | 'warm' | 'mergeData'>
    > = {};
    // Which optional members exist is fixed here; each call still looks the member up on `inner`, as the
    // required ones do, so a wrapper or spy installed on the store later is honoured.
    const present = inner as Required<SessionStore>;
    if (inner.prune !== undefined)
      optional.prune = (progress) =>
        this.intercept('prune', (beat) =>
          present.prune(() => {
            beat?.();
            progress?.();
          }),
        );
    if (inner.count !== undefined)
      optional.count = () => this.intercept('count', () => present.count());
    if (inner.clear !== undefined)
      optional.clear = () => this.intercept('clear', () => present.clear());
    if (inner.mergeData !== undefined) {
      optional.mergeData = (key, changes, maxBytes, expiresAt) =>
        this.intercept('mergeData', () => present.mergeData(key, changes, maxBytes, expiresAt));
    }
    // Not intercepted: warming is no session operation, and its failures surface on the next one.
    if (inner.warm !== undefined) optional.warm = () => present.warm();
    Object.assign(this, optional);
  }

  /**
   * Runs one operation; `call` performs it on the inner store, and a prune calls the `beat` it is
   * given after each batch. The base class just calls it.
   */
  protected intercept<T>(_op: StoreOperation, call: (beat?: () => void) => Promise<T>): Promise<T> {
    return call();
  }

  get(key: string): Promise<StoreEntry | undefined> {
    return this.intercept('get', () => this.inner.get(key));
  }

  create(key: string, value: string, expiresAt: number): Promise<boolean> {
    return this.intercept('create', () => this.inner.create(key, value, expiresAt));
  }

  update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    return this.intercept('update', () => this.inner.update(key, expected, value, expiresAt));
  }

  touch(key: string, expiresAt: number): Promise<boolean> {
    return this.intercept('touch', () => this.inner.touch(key, expiresAt));
  }

  delete(key: string): Promise<boolean> {
    return this.intercept('delete', () => this.inner.delete(key));
  }

  close(): Promise<void> {
    return this.intercept('close', () => this.inner.close());
  }
}
