import { hashedUserKey } from './record-codec.js';

/**
 * The per-user index is a small head record plus one slot record per bound session, so binding,
 * touching or unbinding one session costs the same whatever the user's session count.
 * The head says which slot numbers may be in use: `lo` ≤ slot < `hi`. `n` is an upper bound on
 * how many of them hold sessions (it grows on every bind and is made exact by every scan), so the
 * per-user cap needs a scan only when `n` goes past it. Slots are reserved in the head before their
 * record is written, so `f` is the first slot reserved since `t`: a scan shortly after `t` must not
 * move `lo` past `f`, where a reserved slot may not be written yet.
 */
export interface Head {
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
  readonly f: number;
  readonly t: number;
}

/** One slot record: the store key of the session it indexes and when it was written there. */
export interface Slot {
  readonly key: string;
  readonly at: number;
}

/** An index head in the format before slots: one record mapping each session key to its absolute deadline. */
export interface LegacyHead {
  readonly legacy: ReadonlyArray<readonly [key: string, deadline: number]>;
}

/** The head of a user who has no index yet. */
export const EMPTY_HEAD: Head = Object.freeze({ lo: 0, hi: 0, n: 0, f: 0, t: 0 });

/**
 * The store key of a user's index head without sealing (see hashedUserKey). With sealRecords the
 * head is named by the codec instead (RecordCodec.userKeys), one name per secret while rotating.
 */
export function indexKey(userId: string): string {
  return hashedUserKey(userId);
}

/** The store key of slot `slot` of the index whose head is `head`; it holds `:` too, so it is never counted as a session. */
export function slotKey(head: string, slot: number): string {
  return `${head}:${slot}`;
}

/** The exact text a head is stored as. */
export function encodeHead(head: Head): string {
  return JSON.stringify({ v: 2, lo: head.lo, hi: head.hi, n: head.n, f: head.f, t: head.t });
}

/** Parses a stored head; the old one-record format comes back as LegacyHead, anything else as an empty head. */
export function decodeHead(text: string): Head | LegacyHead {
  const parsed = parseObject(text);
  if (parsed === undefined) return EMPTY_HEAD;
  const { v, lo, hi, n, f, t, s } = parsed;
  if (v === 2 && isCount(lo) && isCount(hi) && isCount(n) && isCount(f) && isCount(t) && lo <= hi)
    return { lo, hi, n, f, t };
  if (v === undefined && s !== null && typeof s === 'object' && !Array.isArray(s)) {
    const legacy = Object.entries(s).filter(
      (e): e is [string, number] => typeof e[1] === 'number' && !e[0].includes(':'),
    );
    return { legacy };
  }
  return EMPTY_HEAD;
}

/** The exact text a slot is stored as. */
export function encodeSlot(slot: Slot): string {
  return JSON.stringify({ k: slot.key, t: slot.at });
}

/** Parses a stored slot, or undefined when it is not one (its session is then treated as gone). */
export function decodeSlot(text: string): Slot | undefined {
  const parsed = parseObject(text);
  if (parsed === undefined) return undefined;
  const { k, t } = parsed;
  // A slot pointing at an index key could make list() read index records as sessions.
  if (
    typeof k !== 'string' ||
    k === '' ||
    k.includes(':') ||
    typeof t !== 'number' ||
    !Number.isFinite(t)
  )
    return undefined;
  return { key: k, at: t };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
