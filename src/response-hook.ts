import type { OutgoingHttpHeaders } from 'node:http';
import type { Response } from 'express';

type Call = { method: 'writeHead' | 'write' | 'end'; args: unknown[] };

/**
 * Holds back the response until `commit` has run: the first writeHead/write/end is queued,
 * `commit` runs (the session save) and resolves the Set-Cookie line to add, if any, then the
 * queued calls are replayed in order. This is how a redirect never reaches the browser before the
 * session it depends on is in the store. On failure the queued calls and every header the handler
 * set are dropped and `onError` gets the error, so an error handler answers on a clean response.
 */
export function holdResponseUntil(
  res: Response,
  commit: () => Promise<string | undefined>,
  onError: (err: unknown) => void,
): void {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end };
  let queue: Call[] | undefined;

  const restore = (): void => {
    res.writeHead = original.writeHead;
    res.write = original.write;
    res.end = original.end;
  };

  const replay = (calls: Call[]): void => {
    for (const call of calls) (original[call.method] as (...a: unknown[]) => unknown).apply(res, call.args);
  };

  const intercept =
    (method: Call['method']) =>
    (...args: unknown[]): never => {
      if (queue !== undefined) {
        queue.push({ method, args });
        return (method === 'write' ? true : res) as never;
      }
      // Even when headers already went out (the session was first used mid-stream) the save still
      // runs before the rest of the body, so changes to an existing session are never dropped.
      const headersWereSent = res.headersSent;
      queue = [{ method, args }];
      commit().then(
        (setCookie) => {
          restore();
          const calls = queue ?? [];
          queue = undefined;
          if (setCookie !== undefined && !headersWereSent && !res.headersSent) addSetCookie(res, calls, setCookie);
          replay(calls);
        },
        (err: unknown) => {
          restore();
          queue = undefined;
          if (!res.headersSent) for (const name of res.getHeaderNames()) res.removeHeader(name);
          onError(err);
        },
      );
      return (method === 'write' ? true : res) as never;
    };

  res.writeHead = intercept('writeHead') as Response['writeHead'];
  res.write = intercept('write') as Response['write'];
  res.end = intercept('end') as Response['end'];
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
