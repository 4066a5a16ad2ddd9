import { createHash, createHmac } from 'node:crypto';
import { Signer } from '../../src/signer.js';
import { storeKeyFor } from '../../src/id.js';
import { encodeRecord } from '../../src/record.js';
import { encodeValue } from '../../src/serializer.js';
import { BENCH_SECRET, SETUP_DATA } from '../servers/harness.js';

/*
 * A population is numbered sessions 0..n-1 whose IDs are derived from a run seed, so the loaders,
 * the servers that fill themselves (memory, file) and the load generator all agree on them without
 * handing a million cookies around: any of them computes session i's ID, store key or cookie.
 */

/** A day: the idle timeout both libraries default to, so filled sessions are live for the whole run. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** Session i's ID: 43 base64url characters, the shape createSessionId makes. */
export function sessionId(seed: string, i: number): string {
  return createHash('sha256').update(`${seed}:${i}`).digest('base64url');
}

const signer = new Signer(BENCH_SECRET);

/** kvsession's side of one population: its store keys, record text and cookies. */
export const kvsession = {
  /** The store key (without the store's prefix) the middleware reads for session i. */
  key: (seed: string, i: number): string => storeKeyFor('', sessionId(seed, i)),
  /** The `Cookie` header kvsession's default cookie name carries for session i. */
  cookie: (seed: string, i: number): string => `sid=${signer.sign(sessionId(seed, i))}`,
  /** The record text the middleware writes for the benchmark's setup data, created at `createdAt`. */
  record(createdAt: number): string {
    const data = Object.fromEntries(
      Object.entries(SETUP_DATA).map(([k, v]) => [k, encodeValue(v, k)]),
    );
    return encodeRecord({ createdAt, userId: undefined, data });
  },
};

/** express-session's side: its session IDs, `sess` JSON and signed cookies (`s:` + HMAC, URI-encoded). */
export const expressSession = {
  sid: (seed: string, i: number): string => sessionId(`es:${seed}`, i),
  cookie(seed: string, i: number): string {
    const sid = expressSession.sid(seed, i);
    // express-session signs with cookie-signature: base64 HMAC-SHA-256 without padding.
    const mac = createHmac('sha256', BENCH_SECRET).update(sid).digest('base64').replace(/=+$/, '');
    return `sid=${encodeURIComponent(`s:${sid}.${mac}`)}`;
  },
  /** What express-session stores for the setup data with its default cookie (no maxAge). */
  sess(): string {
    return JSON.stringify({
      cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
      ...SETUP_DATA,
    });
  },
};
