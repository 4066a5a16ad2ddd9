import type { Response } from 'express';

type Call = { method: 'writeHead' | 'write' | 'end'; args: unknown[] };

/**
 * Holds back the response until `commit` has run: the first writeHead/write/end is queued,
 * `commit` runs (the session save), then the queued calls are replayed in order. This is how a
 * redirect never reaches the browser before the session it depends on is in the store.
 * On failure `onError` gets the error and the queued calls are dropped, so an error handler
 * can answer instead.
 */
export function holdResponseUntil(res: Response, commit: () => Promise<void>, onError: (err: unknown) => void): void {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end };
  let queue: Call[] | undefined;

  const restore = (): void => {
    res.writeHead = original.writeHead;
    res.write = original.write;
    res.end = original.end;
  };

  const intercept =
    (method: Call['method']) =>
    (...args: unknown[]): never => {
      if (queue !== undefined) {
        queue.push({ method, args });
        return (method === 'write' ? true : res) as never;
      }
      if (res.headersSent) {
        // Headers already went out (flushHeaders): nothing can be held back any more.
        restore();
        return (original[method] as (...a: unknown[]) => never).apply(res, args);
      }
      queue = [{ method, args }];
      commit().then(
        () => {
          restore();
          for (const call of queue ?? []) (original[call.method] as (...a: unknown[]) => unknown).apply(res, call.args);
          queue = undefined;
        },
        (err: unknown) => {
          restore();
          queue = undefined;
          onError(err);
        },
      );
      return (method === 'write' ? true : res) as never;
    };

  res.writeHead = intercept('writeHead') as Response['writeHead'];
  res.write = intercept('write') as Response['write'];
  res.end = intercept('end') as Response['end'];
}
