/** Where a watched session reports that it may be about to change. */
export interface ChangeListener {
  /** Called before a write lands (or a mutable value no trap can see is handed out). */
  changing(): void;
}

/** The key under which a watched session's proxy hands out the object it wraps. */
export const TARGET = Symbol('kvsession.watchedTarget');
/** The key under which a watched session's proxy hands out its listener (its methods run on the proxy). */
export const LISTENER = Symbol('kvsession.watchListener');

/**
 * Sees the first write to a drop-in `req.session`, at any depth, as it happens: `req.session` and
 * every plain object or array read from it are proxies whose write traps call `changing()` before
 * the write lands. A request that writes nothing is then neither compared nor held (the response
 * hold costs more than the rest of a reading request). Values no trap can see into (a Date, bytes,
 * the cookie) call `changing()` when read, since they may be mutated in place.
 */
export class WriteWatch implements ProxyHandler<object> {
  readonly #listener: ChangeListener;
  // One proxy per object, so `req.session.a === req.session.a`: the first object read in fields
  // (most requests read at most one), any more in a Map.
  #firstTarget: object | undefined;
  #firstView: object | undefined;
  #views: Map<object, object> | undefined;
  #changed = false;

  constructor(listener: ChangeListener) {
    this.#listener = listener;
  }

  /** The watched view of `target` (the session itself). */
  watch<T extends object>(target: T): T {
    return new Proxy(target, this as ProxyHandler<T>);
  }

  get(target: object, key: string | symbol, receiver: unknown): unknown {
    if (key === LISTENER) return this.#listener;
    if (key === TARGET) return target;
    const value: unknown = Reflect.get(target, key, receiver);
    // A proxy must return a frozen property's own value; only a write (already seen) can freeze one.
    if (this.#changed && typeof value === 'object' && isLocked(target, key)) return value;
    return this.#view(value, true);
  }

  set(target: object, key: string | symbol, value: unknown): boolean {
    this.#changing();
    return Reflect.set(target, key, value);
  }

  deleteProperty(target: object, key: string | symbol): boolean {
    this.#changing();
    return Reflect.deleteProperty(target, key);
  }

  defineProperty(target: object, key: string | symbol, descriptor: PropertyDescriptor): boolean {
    this.#changing();
    return Reflect.defineProperty(target, key, descriptor);
  }

  getOwnPropertyDescriptor(target: object, key: string | symbol): PropertyDescriptor | undefined {
    const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
    // Object.keys(), JSON.stringify() and spreads ask for every descriptor, so this one arms nothing:
    // a plain value is handed out watched, anything else as it is (read it with [[Get]] to change it).
    if (descriptor !== undefined && 'value' in descriptor && !isLockedDescriptor(descriptor))
      descriptor.value = this.#view(descriptor.value, false);
    return descriptor;
  }

  setPrototypeOf(target: object, proto: object | null): boolean {
    this.#changing();
    return Reflect.setPrototypeOf(target, proto);
  }

  #changing(): void {
    this.#changed = true;
    this.#listener.changing();
  }

  /** `value` watched when it is a plain object or array; anything else as it is, after `changing()` if `mutable`. */
  #view(value: unknown, mutable: boolean): unknown {
    if (value === null || typeof value !== 'object') return value;
    // A view stored back into the session and read again is handed out as it is, not wrapped twice.
    if (value === this.#firstTarget || value === this.#firstView) return this.#firstView;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null && !Array.isArray(value)) {
      if (mutable) this.#changing();
      return value;
    }
    const known = this.#views?.get(value);
    if (known !== undefined) return known;
    const view = new Proxy(value, this);
    if (this.#firstTarget === undefined) {
      this.#firstTarget = value;
      this.#firstView = view;
    } else {
      const views = (this.#views ??= new Map<object, object>());
      views.set(value, view);
      views.set(view, view);
    }
    return view;
  }
}

function isLocked(target: object, key: string | symbol): boolean {
  const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
  return descriptor !== undefined && isLockedDescriptor(descriptor);
}

function isLockedDescriptor(descriptor: PropertyDescriptor): boolean {
  return descriptor.configurable === false && descriptor.writable === false;
}

/** The object behind a watched view (or `value` itself when it is not one). */
export function unwatched<T extends object>(value: T): T {
  return ((value as { [TARGET]?: T })[TARGET] as T | undefined) ?? value;
}
