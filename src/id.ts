import { createHash, randomBytes } from 'node:crypto';

/** Bytes of CSPRNG output in a session ID: 256 bits. */
export const ID_BYTES = 32;

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Creates a new session ID: 256 bits from Node's CSPRNG, base64url. */
export function createSessionId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** True when `id` has the exact shape createSessionId produces. */
export function isSessionId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * The store key of a session: prefix + SHA-256 of the ID.
 * Hashed so that a leaked store dump cannot be replayed as cookies; an unsalted
 * fast hash is enough because the ID itself has 256 bits of entropy.
 */
export function storeKeyFor(prefix: string, id: string): string {
  return prefix + createHash('sha256').update(id).digest('base64url');
}

/** A short opaque handle for a session, derived from its store key so it reveals neither the ID nor the key. */
export function handleFor(storeKey: string): string {
  return createHash('sha256')
    .update('kvsession-handle:')
    .update(storeKey)
    .digest('base64url')
    .slice(0, 22);
}
