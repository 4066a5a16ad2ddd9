import { KvSessionError } from './errors.js';

/** A value in its stored, JSON-ready form (Dates and bytes tagged). */
export type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

// Tagged values are objects with this single marker key; a user object that happens
// to have the marker key is itself wrapped, so no user data can be mistaken for a tag.
const TAG = '$kv';
/** How deep a value may nest: deeper ones would overflow the stack here or in JSON.stringify. */
export const MAX_DEPTH = 512;

/**
 * Encodes a value into its JSON-ready form, or throws ERR_KVSESSION_NOT_SERIALIZABLE.
 * Hand-written rather than @keyv/serialize or structuredClone: those either lose
 * Date/Uint8Array types, accept class instances, or cannot be validated up front.
 */
export function encodeValue(value: unknown, path = 'value'): Encoded {
  return encode(value, { root: path, ancestors: [], segments: [] });
}

/** Walk state: ancestors for cycle and depth checks; the path is only spelled out when rejecting. */
interface Walk {
  readonly root: string;
  readonly ancestors: object[];
  readonly segments: (string | number)[];
}

// set() runs this on every write, so it avoids per-node allocations: no path strings, no Set,
// plain output objects (JSON.stringify is slower on null-prototype ones).
function encode(value: unknown, walk: Walk): Encoded {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? 0 : value;
      return reject(walk, `${value} does not survive JSON`);
    case 'object':
      break;
    default:
      return reject(walk, `a ${typeof value} cannot be stored`);
  }
  if (value === null) return null;
  if (value instanceof Date) {
    const time = value.getTime();
    if (Number.isNaN(time)) return reject(walk, 'an invalid Date cannot be stored');
    return { [TAG]: 'date', v: time };
  }
  if (value instanceof Uint8Array) {
    // A Buffer is a Uint8Array too, but comes back as a Buffer so its methods still work after a reload.
    const tag = Buffer.isBuffer(value) ? 'buffer' : 'bytes';
    return {
      [TAG]: tag,
      v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
    };
  }
  const { ancestors, segments } = walk;
  if (ancestors.includes(value)) return reject(walk, 'it contains a cycle');
  if (ancestors.length >= MAX_DEPTH)
    return reject(walk, `it is nested deeper than ${MAX_DEPTH} levels`);
  ancestors.push(value);
  try {
    if (Array.isArray(value)) {
      const out: Encoded[] = new Array<Encoded>(value.length);
      for (let i = 0; i < value.length; i++) {
        segments.push(i);
        if (!(i in value)) return reject(walk, 'sparse arrays do not survive JSON');
        if (value[i] === undefined)
          return reject(walk, 'undefined inside an array does not survive JSON');
        out[i] = encode(value[i], walk);
        segments.pop();
      }
      return out;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      return reject(walk, `instances of ${name} do not survive JSON; store plain objects`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0)
      return reject(walk, 'symbol keys cannot be stored');
    const source = value as Record<string, unknown>;
    const out: { [key: string]: Encoded } = {};
    let tagged = false;
    for (const key of Object.keys(source)) {
      const item = source[key];
      // Like JSON.stringify, a property that is undefined is simply absent.
      if (item === undefined) continue;
      segments.push(key);
      const encoded = encode(item, walk);
      segments.pop();
      // Assigning out['__proto__'] would set the prototype; define it as plain data instead.
      if (key === '__proto__')
        Object.defineProperty(out, key, {
          value: encoded,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[key] = encoded;
      if (key === TAG) tagged = true;
    }
    return tagged ? { [TAG]: 'obj', v: out } : out;
  } finally {
    ancestors.pop();
  }
}

/** Rebuilds a value from its encoded form, restoring Dates, Uint8Arrays and Buffers. */
export function decodeValue(encoded: Encoded): unknown {
  if (encoded === null || typeof encoded !== 'object') return encoded;
  if (Array.isArray(encoded)) return encoded.map(decodeValue);
  const tag = encoded[TAG];
  if (tag !== undefined) {
    const v = encoded['v'];
    if (tag === 'date' && typeof v === 'number') return new Date(v);
    if (tag === 'bytes' && typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64'));
    if (tag === 'buffer' && typeof v === 'string') return Buffer.from(v, 'base64');
    if (tag === 'obj' && v !== null && typeof v === 'object' && !Array.isArray(v))
      return decodeObject(v);
    throw new KvSessionError(
      'ERR_KVSESSION_CORRUPT_RECORD',
      `unknown value tag ${JSON.stringify(tag)} in a session record`,
    );
  }
  return decodeObject(encoded);
}

function decodeObject(encoded: { [key: string]: Encoded }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(encoded)) setData(out, key, decodeValue(encoded[key] as Encoded));
  return out;
}

/** A session's data, decoded into a plain object: the stored record's, or the merged entries. */
export function decodeData(
  data: Readonly<Record<string, Encoded>> | Iterable<readonly [string, Encoded]>,
): Record<string, unknown> {
  if (!isIterable(data)) return decodeObject(data);
  const out: Record<string, unknown> = {};
  for (const [key, encoded] of data) setData(out, key, decodeValue(encoded));
  return out;
}

function isIterable(
  data: Readonly<Record<string, Encoded>> | Iterable<readonly [string, Encoded]>,
): data is Iterable<readonly [string, Encoded]> {
  return typeof (data as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/** Sets `key` as plain data: assigning to `__proto__` would replace the prototype instead. */
export function setData(out: object, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else (out as Record<string, unknown>)[key] = value;
}

function reject(walk: Walk, why: string): never {
  const path = walk.segments.reduce<string>(
    (p, seg) => (typeof seg === 'number' ? `${p}[${seg}]` : `${p}.${seg}`),
    walk.root,
  );
  throw new KvSessionError('ERR_KVSESSION_NOT_SERIALIZABLE', `cannot store ${path}: ${why}`);
}

/**
 * True when `value` nests deeper than `max` levels. Iterative, so it is safe on any input: JSON.parse
 * accepts records of any depth, which the recursive decodeValue and JSON.stringify could not handle.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
