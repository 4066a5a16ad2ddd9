import { ServerResponse } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Response } from 'express';

type Method = 'writeHead' | 'write' | 'end';
type Call = { method: Method; args: unknown[] };
type Fn = (...args: unknown[]) => unknown;
type Methods = Record<Method, Fn>;

/** What a held response waits for: the save that resolves its Set-Cookie line, and where a failure goes. */
export interface ResponseHold {
  /** Runs the save; resolves the Set-Cookie line to add, if any. */
  commit(): Promise<string | undefined>;
  /** Gets the save's error once the held calls and the handler's headers have been dropped. */
  fail(err: unknown): void;
}

interface HeldState {
  hold: ResponseHold;
  /** Held through the methods on ServerResponse.prototype (true) or through the response's own (false). */
  shared: boolean;
  /** Where calls go once released, and where the queued calls are replayed. */
  original: Methods;
  queue: Call[] | undefined;
  /** Set once the save has settled: from then on the patched methods only pass calls through. */
  released: boolean;
}

// The hold's state is the one property a hold adds to a response. V8 makes every property added to
// an Express `res` costly (Express has swapped its prototype, and such objects stop sharing cached
// shape transitions): the three method overrides plus this state that a hold used to add were ~80k
// instructions per saved response under callgrind, over a tenth of a whole request. A WeakMap
// instead of this property counted more still (its entries are ephemerons the GC must trace).
const HELD = Symbol('kvsession.heldResponse');
type HeldResponse = Response & { [HELD]?: HeldState };

// The shared hold: writeHead/write/end installed once, on the first hold, on ServerResponse.prototype.
// They answer for responses held through them and hand every other call straight to Node's own
// methods, so a held response needs no method overrides of its own. Set once installed.
let shared: { installed: Methods; node: Methods } | undefined;
// Responses held through the shared methods and not yet released. A handler that never ends its
// response leaves this above zero for good: the shared methods then look every response up, which is
// slower, never wrong.
let heldThroughShared = 0;

function installShared(): { installed: Methods; node: Methods } {
  const proto = ServerResponse.prototype as unknown as Methods;
  const own: Methods = { writeHead: proto.writeHead, write: proto.write, end: proto.end };
  const make = (method: Method): Fn =>
    function (this: HeldResponse, ...args: unknown[]): unknown {
      // Looking a symbol up on an Express `res` is a slow, uncached lookup (see HELD above), so it is
      // skipped while no response is held: routes that never save pay one comparison.
      if (heldThroughShared === 0) return own[method].apply(this, args);
      const state = this[HELD];
      // A response held through its own methods reaches these only on the way out, after release.
      return state?.shared === true ? intercept(this, state, method, args) : own[method].apply(this, args);
    };
  const installed: Methods = { writeHead: make('writeHead'), write: make('write'), end: make('end') };
  // Plain assignment, as Node defines them: same attributes, so nothing but the function changes.
  proto.writeHead = installed.writeHead;
  proto.write = installed.write;
  proto.end = installed.end;
  return { installed, node: own };
}

/**
 * Holds back the response until `hold.commit()` has run: the first writeHead/write/end is queued,
 * the commit runs (the session save) and resolves the Set-Cookie line to add, if any, then the
 * queued calls are replayed in order. This is how a redirect never reaches the browser before the
 * session it depends on is in the store. On failure the queued calls and every header the handler
 * set are dropped and `hold.fail` gets the error, so an error handler answers on a clean response.
 */
export function holdResponseUntil(res: HeldResponse, hold: ResponseHold): void {
  // Nothing left to hold: no call would ever start the save, and the count above would never come down.
  if (res.writableEnded) return;
  const { installed, node } = (shared ??= installShared());
  // The shared methods see every call only when nothing is in front of them: no wrapper on this
  // response (compression installed before the session was used), no override on Express's or the
  // app's response prototype. A wrapper added later reaches them through the `res.end` it captured,
  // and a mounted app's prototype swap keeps ServerResponse.prototype in the chain.
  if (res.writeHead === installed.writeHead && res.write === installed.write && res.end === installed.end) {
    res[HELD] = { hold, shared: true, original: node, queue: undefined, released: false };
    heldThroughShared++;
    return;
  }
  const original: Methods = { writeHead: res.writeHead as Fn, write: res.write as Fn, end: res.end as Fn };
  res[HELD] = { hold, shared: false, original, queue: undefined, released: false };
  res.writeHead = heldWriteHead as Response['writeHead'];
  res.write = heldWrite as Response['write'];
  res.end = heldEnd as Response['end'];
}

/** Whether the response is held and not yet released: the hold's observable state, for tests. */
export function isResponseHeld(res: Response): boolean {
  const state = (res as HeldResponse)[HELD];
  return state !== undefined && !state.released;
}

// Installed on the response itself when something sits in front of the shared methods. Shared
// functions, not closures: a wrapper that captured one keeps a valid reference after release.
function heldWriteHead(this: HeldResponse, ...args: unknown[]): unknown {
  return intercept(this, this[HELD] as HeldState, 'writeHead', args);
}

function heldWrite(this: HeldResponse, ...args: unknown[]): unknown {
  return intercept(this, this[HELD] as HeldState, 'write', args);
}

function heldEnd(this: HeldResponse, ...args: unknown[]): unknown {
  return intercept(this, this[HELD] as HeldState, 'end', args);
}

function intercept(res: Response, state: HeldState, method: Method, args: unknown[]): unknown {
  // A wrapper installed after ours (compression, say) may still call us once the save is done.
  if (state.released) return state.original[method].apply(res, args);
  const answer = method === 'write' ? true : res;
  if (state.queue !== undefined) {
    state.queue.push({ method, args });
    return answer;
  }
  // Even when headers already went out (the session was first used mid-stream) the save still
  // runs before the rest of the body, so changes to an existing session are never dropped.
  const headersWereSent = res.headersSent;
  state.queue = [{ method, args }];
  state.hold.commit().then(
    (setCookie) => {
      const calls = release(res, state);
      if (setCookie !== undefined && !headersWereSent && !res.headersSent) addSetCookie(res, calls, setCookie);
      for (const call of calls) state.original[call.method].apply(res, call.args);
    },
    (err: unknown) => {
      release(res, state);
      if (!res.headersSent) for (const name of res.getHeaderNames()) res.removeHeader(name);
      state.hold.fail(err);
    },
  );
  return answer;
}

/**
 * Puts the original methods back, where ours are still the ones installed: a wrapper another
 * middleware put on top of ours stays in place and reaches the originals through us.
 */
function release(res: Response, state: HeldState): Call[] {
  state.released = true;
  if (state.shared) heldThroughShared--;
  else {
    if (res.writeHead === heldWriteHead) res.writeHead = state.original.writeHead as Response['writeHead'];
    if (res.write === heldWrite) res.write = state.original.write as Response['write'];
    if (res.end === heldEnd) res.end = state.original.end as Response['end'];
  }
  const calls = state.queue ?? [];
  state.queue = undefined;
  return calls;
}

/**
 * Adds the session's Set-Cookie. Headers passed to writeHead() replace same-named headers set
 * earlier, so when the first queued call is a writeHead carrying its own Set-Cookie, ours is
 * merged into that call instead of being silently overwritten.
 */
function addSetCookie(res: Response, calls: Call[], line: string): void {
  const first = calls[0];
  if (first?.method === 'writeHead') {
    const at = first.args.findIndex((a, i) => i > 0 && a !== null && typeof a === 'object');
    const headers = first.args[at];
    const merged = Array.isArray(headers) ? mergeIntoFlatHeaders(headers as unknown[], line) : undefined;
    if (merged !== undefined) {
      first.args[at] = merged;
      return;
    }
    if (at > 0 && headers !== undefined && !Array.isArray(headers)) {
      const object = headers as OutgoingHttpHeaders;
      const name = Object.keys(object).find((k) => k.toLowerCase() === 'set-cookie');
      if (name !== undefined) {
        const theirs = object[name];
        const lines = theirs === undefined ? [] : Array.isArray(theirs) ? theirs : [String(theirs)];
        first.args[at] = { ...object, [name]: [...lines, line] };
        return;
      }
    }
  }
  res.append('Set-Cookie', line);
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
    if (typeof name === 'string' && name.toLowerCase() === 'set-cookie') cookies.push(...(Array.isArray(value) ? value : [value]));
    else out.push(name, value);
  }
  return cookies.length === 0 ? undefined : [...out, 'Set-Cookie', [...cookies, line]];
}
