import type { OutgoingHttpHeaders } from 'node:http';

type Method = 'writeHead' | 'write' | 'end';
type Call = { method: Method; args: unknown[] };
type Fn = (...args: unknown[]) => unknown;
type Methods = Record<Method, Fn>;

/**
 * The part of Node's `ServerResponse` a response hold uses. engine.io's `WebSocketResponse` offers it
 * too, so the hold works on Express 4 and 5, plain `node:http` and engine.io/socket.io middlewares.
 */
export interface HoldableResponse {
  writeHead: (...args: never[]) => unknown;
  write: (...args: never[]) => unknown;
  end: (...args: never[]) => unknown;
  getHeader(name: string): unknown;
  setHeader(name: string, value: string | readonly string[]): unknown;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  readonly headersSent?: boolean;
  readonly writableEnded?: boolean;
  readonly writableHighWaterMark?: number;
  readonly writableNeedDrain?: boolean;
}

/** What `settled()` answers while the save still has work to do. */
export const PENDING: unique symbol = Symbol('kvsession.pending');

/** What a held response waits for: the save that resolves its Set-Cookie line, and where errors go. */
export interface ResponseHold {
  /** The Set-Cookie line at once when nothing is left to save (or undefined for none), else PENDING. */
  settled(): string | undefined | typeof PENDING;
  /** Runs the save; resolves the Set-Cookie line to add, if any. */
  commit(): Promise<string | undefined>;
  /** Gets what the response could not carry: the save's error, or an error a replayed call threw. */
  fail(err: unknown): void;
}

interface HoldState {
  readonly hold: ResponseHold;
  /** The response's methods before the hold: where calls go once released. */
  readonly original: Methods;
  queue: Call[] | undefined;
  /** Bytes queued by write()/end() while held, against the response's high-water mark. */
  queuedBytes: number;
  /** write() answered false while held: 'drain' is owed once the queue has gone out. */
  owesDrain: boolean;
  /** An end() is queued: later calls are dropped, as express-session drops a second end(). */
  ended: boolean;
  /** The status and headers when end() was queued, put back on replay if a later call was dropped. */
  atEnd: { status: number | undefined; headers: Record<string, unknown> } | undefined;
  dropped: boolean;
  released: boolean;
}

// The state lives in one symbol-keyed property of the response, and the three methods the hold
// replaces are shared functions that find it there. Every property added to an Express response
// builds it a new hidden class (see benchmarks/README.md), and per-response closures stored as
// method values kept far more of each request alive through minor GCs than shared functions do.
const HOLD = Symbol('kvsession.responseHold');
type Held = Methods & { [HOLD]?: HoldState };

// Node's default for a ServerResponse; engine.io's WebSocketResponse has no stream state at all.
const DEFAULT_HIGH_WATER_MARK = 16 * 1024;

/**
 * Holds this one response until `hold` has run: the first writeHead/write/end is queued, the save
 * runs and resolves the Set-Cookie line to add, then the queued calls are replayed in order through
 * the response's own methods. A redirect thus never reaches the browser before the session it
 * depends on is in the store. Only this response's own methods are replaced, never a prototype.
 */
export function holdResponse(res: HoldableResponse, hold: ResponseHold): void {
  // Nothing left to hold: no call would ever start the save.
  if (res.writableEnded === true) return;
  const held = res as unknown as Held;
  const state: HoldState = {
    hold,
    original: { writeHead: held.writeHead, write: held.write, end: held.end },
    queue: undefined,
    queuedBytes: 0,
    owesDrain: false,
    ended: false,
    atEnd: undefined,
    dropped: false,
    released: false,
  };
  // Once released, the wrappers pass every call straight on, so they stay installed: putting the
  // originals back would rewrite three properties of the response, and a wrapper installed over
  // ours (compression, say) keeps calling them anyway.
  if (held[HOLD] === undefined) {
    held[HOLD] = state;
    held.writeHead = heldWriteHead;
    held.write = heldWrite;
    held.end = heldEnd;
    return;
  }
  // A second hold on one response (rare: a second session middleware runs only if the app removed
  // `req.session` in between): the slot is taken, so this hold's wrappers carry their state
  // themselves and call on to whatever was there, the first hold's included. Shared wrappers here
  // would find the second state from inside the first hold's and call themselves for ever.
  held.writeHead = function (this: HoldableResponse, ...args: unknown[]): unknown {
    return intercept(this, state, 'writeHead', args);
  };
  held.write = function (this: HoldableResponse, ...args: unknown[]): unknown {
    return intercept(this, state, 'write', args);
  };
  held.end = function (this: HoldableResponse, ...args: unknown[]): unknown {
    return intercept(this, state, 'end', args);
  };
}

function heldWriteHead(this: HoldableResponse, ...args: unknown[]): unknown {
  return intercept(this, stateOf(this), 'writeHead', args);
}

function heldWrite(this: HoldableResponse, ...args: unknown[]): unknown {
  return intercept(this, stateOf(this), 'write', args);
}

function heldEnd(this: HoldableResponse, ...args: unknown[]): unknown {
  return intercept(this, stateOf(this), 'end', args);
}

function stateOf(res: HoldableResponse): HoldState {
  const state = (res as unknown as Held)[HOLD];
  // Only reachable by calling a held response's method with another object as `this`.
  if (state === undefined)
    throw new TypeError('kvsession: a held response method was called on another object');
  return state;
}

/** Whether the response's first hold is still holding: the hold's observable state, for tests. */
export function isResponseHeld(res: HoldableResponse): boolean {
  const state = (res as unknown as Held)[HOLD];
  return state !== undefined && !state.released;
}

function intercept(
  res: HoldableResponse,
  state: HoldState,
  method: Method,
  args: unknown[],
): unknown {
  // A wrapper installed after ours (compression, say) may still call us once the save is done.
  if (state.released) return state.original[method].apply(res, args);
  if (state.queue === undefined) {
    const now = state.hold.settled();
    if (now !== PENDING) {
      // Nothing to wait for: the call goes straight through, and throws to its caller as Node's would.
      release(state);
      if (now !== undefined && res.headersSent !== true) addSetCookie(res, [{ method, args }], now);
      return state.original[method].apply(res, args);
    }
    state.queue = [];
    startSave(res, state, res.headersSent === true);
  }
  return enqueue(res, state, method, args);
}

/** Queues one call; write() answers false past the response's high-water mark, as Node's does. */
function enqueue(
  res: HoldableResponse,
  state: HoldState,
  method: Method,
  args: unknown[],
): unknown {
  if (state.ended) {
    state.dropped = true;
    return method === 'write' ? false : res;
  }
  (state.queue as Call[]).push({ method, args });
  if (method === 'writeHead') return res;
  state.queuedBytes += byteLength(args);
  if (method === 'end') {
    state.ended = true;
    // Unheld, headers are frozen once end() has run: a second res.send() would throw instead of changing them.
    const headers = (res as { getHeaders?: () => Record<string, unknown> }).getHeaders?.();
    if (headers !== undefined)
      state.atEnd = { status: (res as { statusCode?: number }).statusCode, headers };
    return res;
  }
  if (state.queuedBytes < (res.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK)) return true;
  state.owesDrain = true;
  return false;
}

function byteLength(args: unknown[]): number {
  const chunk = args[0];
  if (typeof chunk === 'string')
    return Buffer.byteLength(
      chunk,
      typeof args[1] === 'string' ? (args[1] as BufferEncoding) : 'utf8',
    );
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

function startSave(res: HoldableResponse, state: HoldState, headersWereSent: boolean): void {
  // Even when headers already went out (the session was first used mid-stream) the save still
  // runs before the rest of the body, so changes to an existing session are never dropped.
  state.hold
    .commit()
    .then(
      (setCookie) => replay(res, state, setCookie, headersWereSent),
      (err: unknown) => {
        release(state);
        // The error handler answers on a clean response: nothing the handler meant for success leaks.
        if (res.headersSent !== true) clearHeaders(res);
        state.hold.fail(err);
      },
    )
    // Only an error handler that itself throws lands here; the process must not see it as unhandled.
    .catch(abandon(res));
}

/** Replays the queued calls; one that throws goes to the app's error path, as it would unheld. */
function replay(
  res: HoldableResponse,
  state: HoldState,
  setCookie: string | undefined,
  headersWereSent: boolean,
): void {
  const calls = state.queue ?? [];
  release(state);
  try {
    if (state.dropped && state.atEnd !== undefined && res.headersSent !== true)
      restoreHeaders(res, state.atEnd);
    if (setCookie !== undefined && !headersWereSent && res.headersSent !== true)
      addSetCookie(res, calls, setCookie);
    for (const call of calls) state.original[call.method].apply(res, call.args);
  } catch (err) {
    state.hold.fail(err);
    return;
  }
  // A source that saw write() answer false waits for 'drain'; Node emits it itself while its own buffer is full.
  if (state.owesDrain && res.writableNeedDrain !== true && res.writableEnded !== true)
    res.emit('drain');
}

/** Marks the hold released: from now on the wrappers pass every call straight on. */
function release(state: HoldState): void {
  state.released = true;
  state.queue = undefined;
}

/** Puts back the status and headers a response had when its end() was queued. */
function restoreHeaders(res: HoldableResponse, atEnd: NonNullable<HoldState['atEnd']>): void {
  clearHeaders(res);
  for (const [name, value] of Object.entries(atEnd.headers))
    res.setHeader(name, value as string | string[]);
  if (atEnd.status !== undefined) (res as { statusCode?: number }).statusCode = atEnd.status;
}

function clearHeaders(res: HoldableResponse): void {
  const names = (res as { getHeaderNames?: () => string[] }).getHeaderNames?.() ?? [];
  const remove = (res as { removeHeader?: (name: string) => void }).removeHeader;
  for (const name of names) remove?.call(res, name);
}

/** The response is beyond saving: end the connection so the client is not left waiting. */
function abandon(res: HoldableResponse): (err: unknown) => void {
  return (err: unknown) => {
    const name = err instanceof Error ? err.name : typeof err;
    process.emitWarning(
      `kvsession: the error path of a held response threw (${name}); the connection was closed`,
    );
    (res as { destroy?: () => void }).destroy?.();
  };
}

/**
 * Adds the session's Set-Cookie. Headers passed to writeHead() replace same-named headers set
 * earlier, so when the first queued call is a writeHead carrying its own Set-Cookie, ours is
 * merged into that call instead of being silently overwritten.
 */
function addSetCookie(res: HoldableResponse, calls: Call[], line: string): void {
  const first = calls[0];
  if (first?.method === 'writeHead' && mergeIntoWriteHead(first, line)) return;
  const theirs = res.getHeader('set-cookie');
  const lines =
    theirs === undefined
      ? []
      : Array.isArray(theirs)
        ? (theirs as unknown[]).map(String)
        : [String(theirs)];
  res.setHeader('Set-Cookie', lines.length === 0 ? line : [...lines, line]);
}

/** Merges the line into a writeHead call's own Set-Cookie; false when that call carries none. */
function mergeIntoWriteHead(call: Call, line: string): boolean {
  const at = call.args.findIndex((a, i) => i > 0 && a !== null && typeof a === 'object');
  const headers = call.args[at];
  if (at <= 0 || headers === undefined) return false;
  if (Array.isArray(headers)) {
    const merged = mergeIntoFlatHeaders(headers as unknown[], line);
    if (merged !== undefined) call.args[at] = merged;
    return merged !== undefined;
  }
  const object = headers as OutgoingHttpHeaders;
  const name = Object.keys(object).find((k) => k.toLowerCase() === 'set-cookie');
  if (name === undefined) return false;
  const theirs = object[name];
  const lines = theirs === undefined ? [] : Array.isArray(theirs) ? theirs : [String(theirs)];
  call.args[at] = { ...object, [name]: [...lines, line] };
  return true;
}

/**
 * A flat `[name, value, name, value...]` list with every Set-Cookie folded into one pair: Node 20
 * applies such a list with setHeader, pair by pair, so a second Set-Cookie pair would replace the first.
 * Undefined when the list has no Set-Cookie (or is malformed, which Node then rejects as usual).
 */
function mergeIntoFlatHeaders(flat: unknown[], line: string): unknown[] | undefined {
  if (flat.length % 2 !== 0) return undefined;
  const out: unknown[] = [];
  const cookies: unknown[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i];
    const value = flat[i + 1];
    if (typeof name === 'string' && name.toLowerCase() === 'set-cookie')
      cookies.push(...(Array.isArray(value) ? value : [value]));
    else out.push(name, value);
  }
  return cookies.length === 0 ? undefined : [...out, 'Set-Cookie', [...cookies, line]];
}
