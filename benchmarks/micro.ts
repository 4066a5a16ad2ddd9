import { parseCookie } from 'cookie';
import { Signer } from '../src/signer.js';
import { createSessionId, storeKeyFor } from '../src/id.js';
import { guardStore } from '../src/guarded-store.js';
import { createMemoryStore } from '../stores/memory.js';
import { encodeValue, decodeValue } from '../src/serializer.js';
import type { Encoded } from '../src/serializer.js';
import { encodeRecord, decodeRecord, decodeRecordCached } from '../src/record.js';
import type { SessionRecord } from '../src/record.js';
import { VerifiedCookies } from '../src/verified-cookies.js';
import { BoundedCache } from '../src/bounded-cache.js';
import type { Request } from 'express';
import type { SessionStore } from '../src/store.js';
import { median } from './summary.js';

/** One micro-benchmark result. */
export interface MicroResult {
  readonly name: string;
  readonly opsPerSec: number;
  /** The JSON built-in this operation is compared with, if any. */
  readonly baseline: string | undefined;
}

/** A logged-in session with a cart: about 1 KB of JSON, the size the issue asks for. */
export const MICRO_SESSION: Record<string, unknown> = {
  user: {
    id: 4217,
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    roles: ['admin', 'editor', 'billing'],
    verified: true,
  },
  csrf: 'kG9fX2m0t7Qp4rV1sY8wZ3cL6nB5hJ0d',
  locale: 'en-GB',
  theme: 'dark',
  cart: [
    { sku: 'AE-1001', qty: 1, price: 1299.0, title: 'Analytical Engine, difference module' },
    { sku: 'PC-2040', qty: 3, price: 4.5, title: 'Punched cards, pack of 100' },
    { sku: 'BK-1843', qty: 1, price: 29.95, title: 'Notes on the Analytical Engine (annotated)' },
    { sku: 'GR-0007', qty: 12, price: 0.99, title: 'Brass gear, 40 teeth' },
    { sku: 'LV-0311', qty: 2, price: 17.25, title: 'Crank lever, left-handed' },
  ],
  flash: ['Welcome back, Ada!', 'Your order #10432 has shipped.'],
  prefs: {
    newsletter: false,
    currency: 'GBP',
    timezone: 'Europe/London',
    pageSize: 25,
    compact: true,
  },
  recentlyViewed: ['AE-1001', 'BK-1843', 'PC-2040', 'GR-0007', 'LV-0311', 'GR-0008'],
  returnTo: '/catalogue/engines?page=2&sort=price&filter=in-stock',
  lastSeen: 1_712_345_678_901,
  visits: 42,
};

let sink: unknown;

/** Runs the micro-benchmarks; `sampleMs` of CPU time per sample, median of 3 samples. */
export async function runMicro(
  sampleMs: number,
): Promise<{ results: MicroResult[]; sessionBytes: number }> {
  const signer = new Signer('kvsession-benchmark-secret-0123456789abcdef');
  const id = createSessionId();
  const cookie = signer.sign(id);
  const record = { createdAt: Date.now(), userId: '4217', data: encodeData(MICRO_SESSION) };
  const ours = encodeRecord(record);
  const json = JSON.stringify({ c: record.createdAt, u: record.userId, d: MICRO_SESSION });

  const results: MicroResult[] = [
    await measure('signer.sign(id)', () => signer.sign(id), sampleMs),
    await measure('signer.verify(cookie), valid', () => signer.verify(cookie), sampleMs),
    await measure(
      'encodeValue per key + encodeRecord',
      () => encodeRecord({ ...record, data: encodeData(MICRO_SESSION) }),
      sampleMs,
      'JSON.stringify',
    ),
    await measure(
      'JSON.stringify',
      () => JSON.stringify({ c: record.createdAt, u: record.userId, d: MICRO_SESSION }),
      sampleMs,
    ),
    await measure(
      'decodeRecord + decodeValue per key',
      () => decodeData(ours),
      sampleMs,
      'JSON.parse',
    ),
    await measure('JSON.parse', () => JSON.parse(json) as unknown, sampleMs),
    await measure('storeKeyFor(id) (SHA-256)', () => storeKeyFor('', id), sampleMs),
    await measure(
      'read path, new client: cookie → verify → key → guarded memory get → decode',
      await readPath(signer, id, ours),
      sampleMs,
    ),
    await measure(
      'read path, returning client: cookie and record remembered',
      await rememberedReadPath(signer, id, ours),
      sampleMs,
    ),
  ];
  return { results, sessionBytes: Buffer.byteLength(ours) };
}

/** What a /read request costs kvsession before the response: the per-request overhead on the memory store, minus the response hook. */
async function readPath(
  signer: Signer,
  id: string,
  value: string,
): Promise<() => Promise<unknown>> {
  const store = await storeHolding(id, value);
  const header = `sid=${signer.sign(id)}; theme=dark`;
  return async () => {
    const verdict = signer.verify(parseCookie(header)['sid']);
    if (verdict.status !== 'valid') throw new Error('micro: cookie did not verify');
    const entry = await store.get(storeKeyFor('', verdict.id));
    const data = decodeRecord(entry?.value ?? '')?.data;
    return data === undefined ? undefined : decodeValue(data['user'] as Encoded);
  };
}

/** The same read as Session does it for a client seen before: the cookie's verdict and the record's parse are remembered. */
async function rememberedReadPath(
  signer: Signer,
  id: string,
  value: string,
): Promise<() => Promise<unknown>> {
  const store = await storeHolding(id, value);
  const cookies = new VerifiedCookies(signer, 'sid');
  const records = new BoundedCache<string, SessionRecord>(256);
  const req = { headers: { cookie: `sid=${signer.sign(id)}; theme=dark` } } as Request;
  return async () => {
    const cookie = cookies.read(req);
    if (cookie === undefined) throw new Error('micro: cookie did not verify');
    const entry = await store.get(cookie.key);
    const data = decodeRecordCached(records, entry?.value ?? '')?.data;
    return data === undefined ? undefined : decodeValue(data['user'] as Encoded);
  };
}

/** A guarded memory store holding session `id`'s record, as the middleware would see it. */
async function storeHolding(id: string, value: string): Promise<SessionStore> {
  const raw = createMemoryStore({ prefix: 'micro:' });
  await raw.create(storeKeyFor('', id), value, Date.now() + 3_600_000);
  return guardStore(raw, 2000);
}

/** What Session.set() then save() do to a whole session. */
function encodeData(data: Record<string, unknown>): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  for (const [key, value] of Object.entries(data)) out[key] = encodeValue(value, key);
  return out;
}

/** What a load then Session.all() do. */
function decodeData(text: string): Record<string, unknown> {
  const record = decodeRecord(text);
  const out: Record<string, unknown> = {};
  if (record === undefined) throw new Error('micro: record did not decode');
  for (const [key, value] of Object.entries(record.data)) out[key] = decodeValue(value);
  return out;
}

async function measure(
  name: string,
  op: () => unknown,
  sampleMs: number,
  baseline?: string,
): Promise<MicroResult> {
  await sample(op, Math.min(200, sampleMs)); // warm-up: let the JIT optimise before counting
  const opsPerSec = median([
    await sample(op, sampleMs),
    await sample(op, sampleMs),
    await sample(op, sampleMs),
  ]);
  return { name, opsPerSec, baseline };
}

/**
 * Operations per second of this process's CPU time over about `ms` ms of it, in batches so the
 * clock is not what is measured. CPU time, not wall time: on a shared machine the process is
 * descheduled for stretches that wall time would charge to the operation.
 */
async function sample(op: () => unknown, ms: number): Promise<number> {
  const batch = 200;
  let done = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < ms * 1000) {
    for (let i = 0; i < batch; i++) {
      sink = op();
      if (sink instanceof Promise) sink = await sink;
    }
    done += batch;
    const cpu = process.cpuUsage(start);
    used = cpu.user + cpu.system;
  }
  return done / (used / 1e6);
}

/** The micro-benchmarks as a Markdown table. */
export function microTable(results: readonly MicroResult[], sessionBytes: number): string {
  const lines = [
    `Session record: ${sessionBytes} bytes.`,
    '',
    '| operation | ops per CPU-second | CPU µs/op | vs JSON built-in |',
    '|---|---:|---:|---:|',
  ];
  for (const r of results) {
    const base = r.baseline === undefined ? undefined : results.find((o) => o.name === r.baseline);
    const vs =
      base === undefined ? '' : `${(r.opsPerSec / base.opsPerSec).toFixed(2)}× ${r.baseline}`;
    lines.push(
      `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${(1e6 / r.opsPerSec).toFixed(2)} | ${vs} |`,
    );
  }
  // Keep the optimiser from proving the measured calls dead.
  if (sink === Symbol.for('never')) lines.push('');
  return lines.join('\n');
}
