import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** How one in-process request ended. */
export interface InProcessReply {
  /** The status the response ended with (the error's `status`, or 500, when next(err) was called). */
  readonly status: number;
  /** Every Set-Cookie line the response carried. */
  readonly setCookies: readonly string[];
  /** What reached next(err) or was thrown by the route, if anything. */
  readonly error: unknown;
}

/** A route handler run after the middleware, as Express would run it. */
export type InProcessRoute = (req: Request, res: Response) => void | Promise<void>;

/**
 * Runs one request through a kvSession middleware and `route` without HTTP, sockets or Express:
 * 100,000 fuzz or leak-test requests then take seconds instead of minutes. The fake req/res carry
 * exactly what the middleware touches (the Cookie header, `secure`, writeHead/write/end,
 * header accessors, `append`), so cookie parsing, signature checks, the store load and the
 * save-before-response hook all run for real. An error reaching next(err) ends the response
 * the way an Express error handler would: its `status`, or 500.
 */
export function dispatch(
  middleware: RequestHandler,
  cookie: string | undefined,
  route: InProcessRoute,
): Promise<InProcessReply> {
  return new Promise((resolve) => {
    const res = new FakeResponse((status, error) =>
      resolve({ status, setCookies: res.setCookies(), error }),
    );
    const req = {
      headers: cookie === undefined ? {} : { cookie },
      secure: false,
      res,
    } as unknown as Request;
    const fail = (err: unknown): void => res.fail(err);
    const next: NextFunction = (err?: unknown) => {
      if (err !== undefined && err !== 'route' && err !== 'router') return fail(err);
      // Like Express, the route runs after the middleware called next() and its errors go to the handler.
      Promise.resolve()
        .then(() => route(req, res as unknown as Response))
        .catch(fail);
    };
    try {
      middleware(req, res as unknown as Response, next);
    } catch (err) {
      fail(err);
    }
  });
}

/** The slice of http.ServerResponse + Express's `append` that the middleware and routes use. */
class FakeResponse {
  statusCode = 200;
  headersSent = false;
  readonly #headers = new Map<string, string | string[]>();
  readonly #finish: (status: number, error: unknown) => void;
  #error: unknown;
  #ended = false;

  constructor(finish: (status: number, error: unknown) => void) {
    this.#finish = finish;
  }

  setCookies(): string[] {
    const value = this.#headers.get('set-cookie');
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }

  /** The error handler: a coded status if the error carries one, else 500. */
  fail(err: unknown): void {
    if (this.#ended) return;
    this.#error ??= err;
    const status = (err as { status?: unknown } | null)?.status;
    if (!this.headersSent) this.statusCode = typeof status === 'number' ? status : 500;
    this.end();
  }

  writeHead(status: number, ...rest: unknown[]): this {
    this.statusCode = status;
    const headers = rest.find((r) => r !== null && typeof r === 'object');
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2)
        this.append(String(headers[i]), String(headers[i + 1]));
    } else if (headers !== undefined) {
      for (const [name, value] of Object.entries(headers as Record<string, string | string[]>))
        this.setHeader(name, value);
    }
    this.headersSent = true;
    return this;
  }

  write(_chunk: unknown): boolean {
    this.headersSent = true;
    return true;
  }

  end(_chunk?: unknown): this {
    this.headersSent = true;
    if (!this.#ended) {
      this.#ended = true;
      this.#finish(this.statusCode, this.#error);
    }
    return this;
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  json(body: unknown): this {
    this.setHeader('content-type', 'application/json');
    return this.end(JSON.stringify(body));
  }

  setHeader(name: string, value: string | string[]): this {
    this.#headers.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  getHeaderNames(): string[] {
    return [...this.#headers.keys()];
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  append(name: string, value: string | string[]): this {
    const old = this.#headers.get(name.toLowerCase());
    const add = Array.isArray(value) ? value : [value];
    this.#headers.set(
      name.toLowerCase(),
      old === undefined ? add : [...(Array.isArray(old) ? old : [old]), ...add],
    );
    return this;
  }
}
