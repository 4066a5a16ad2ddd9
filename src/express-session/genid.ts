import type { IncomingMessage } from 'node:http';
import { createSessionId } from '../id.js';
import { KvSessionError } from '../errors.js';

// Cookie-safe characters only; at least 16 of them (express-session's uid-safe default is 32).
const GENID_PATTERN = /^[A-Za-z0-9_~-]{16,256}$/;

/** The ID maker for a new session: the app's `genid(req)`, checked, or kvsession's 256 random bits. */
export function idMaker(
  genid: ((req: IncomingMessage) => string) | undefined,
  req: IncomingMessage,
): () => string {
  if (genid === undefined) return createSessionId;
  return () => {
    const id: unknown = genid(req);
    if (typeof id !== 'string' || !GENID_PATTERN.test(id)) {
      throw new KvSessionError(
        'ERR_KVSESSION_BAD_OPTION',
        'genid(req) must return 16 to 256 characters from A-Z a-z 0-9 _ ~ -',
      );
    }
    return id;
  };
}
