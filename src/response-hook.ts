import type { OutgoingHttpHeaders } from 'node:http';
import type { Response } from 'express';

type Call = { method: 'writeHead' | 'write' | 'end'; args: unknown[] };

/** What a held response waits for: the save that resolves its Set-Cookie line, and where a failure goes. */
export interface ResponseHold {
  /** Runs the save; resolves the Set-Cookie line to add, if any. */
  commit(): Promise<string | undefined>;
  /** Gets the save's error once the held calls and the handler's headers have been dropped. */
  fail(err: unknown): void;
}

// The patched methods are shared functions that find their state under this symbol, rather than
// fresh closures per response: a saved response is the write path's hot path, and three closures
// plus their contexts per request showed up in its profile.
const HELD = Symbol('kvsession.heldResponse');

interface HeldState {
  hold: ResponseHold;
  original: { writeHead: Response['writeHead']; write: Response['write']; end: Response['end'] };
  queue: Call[] | undefined;
  /** Set once the save has settled: from then on the patched methods only pass calls through. */
  released: boolean;
}

type HeldResponse = Response & { [HELD]?: HeldState };

/**
 * Holds back the response until `hold.commit()` has run: the first writeHead/write/end is queued,
 * the commit runs (the session save) and resolves the Set-Cookie line to add, if any, then the
 * queued calls are replayed in order. This is how a redirect never reaches the browser before the
 * session it depends on is in the store. On failure the queued calls and every header the handler
 * set are dropped and `hold.fail` gets the error, so an error handler answers on a clean response.
 */
export function holdResponseUntil(res: Response, hold: ResponseHold): void {
  const held = res as HeldResponse;
  held[HELD] = { hold, original: { writeHead: res.writeHead, write: res.write, end: res.end }, queue: undefined, released: false };
  res.writeHead = heldWriteHead as Response['writeHead'];
  res.write = heldWrite as Response['write'];
  res.end = heldEnd as Response['end'];
}

function heldWriteHead(this: HeldResponse, ...args: unknown[]): unknown {
  return intercept(this, 'writeHead', args);
}

function heldWrite(this: HeldResponse, ...args: unknown[]): unknown {
  return intercept(this, 'write', args);
}

function heldEnd(this: HeldResponse, ...args: unknown[]): unknown {
  return intercept(this, 'end', args);
}

function intercept(res: HeldResponse, method: Call['method'], args: unknown[]): unknown {
  const state = res[HELD] as HeldState;
  // A wrapper installed after ours (compression, say) may still call us once the save is done.
  if (state.released) return (state.original[method] as (...a: unknown[]) => unknown).apply(res, args);
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
      for (const call of calls) (state.original[call.method] as (...a: unknown[]) => unknown).apply(res, call.args);
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
function release(res: HeldResponse, state: HeldState): Call[] {
  state.released = true;
  if (res.writeHead === heldWriteHead) res.writeHead = state.original.writeHead;
  if (res.write === heldWrite) res.write = state.original.write;
  if (res.end === heldEnd) res.end = state.original.end;
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
