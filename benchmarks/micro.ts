import { Signer } from '../src/signer.js';
import { createSessionId } from '../src/id.js';
import { encodeValue, decodeValue } from '../src/serializer.js';
import type { Encoded } from '../src/serializer.js';
import { encodeRecord, decodeRecord } from '../src/record.js';
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
  user: { id: 4217, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor', 'billing'], verified: true },
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
  prefs: { newsletter: false, currency: 'GBP', timezone: 'Europe/London', pageSize: 25, compact: true },
  recentlyViewed: ['AE-1001', 'BK-1843', 'PC-2040', 'GR-0007', 'LV-0311', 'GR-0008'],
  lastSeen: 1_712_345_678_901,
  visits: 42,
};

let sink: unknown;

/** Runs the micro-benchmarks; `sampleMs` per sample, median of 3 samples. */
export function runMicro(sampleMs: number): { results: MicroResult[]; sessionBytes: number } {
  const signer = new Signer('kvsession-benchmark-secret-0123456789abcdef');
  const id = createSessionId();
  const cookie = signer.sign(id);
  const record = { createdAt: Date.now(), userId: '4217', data: encodeData(MICRO_SESSION) };
  const ours = encodeRecord(record);
  const json = JSON.stringify({ c: record.createdAt, u: record.userId, d: MICRO_SESSION });

  const results: MicroResult[] = [
    measure('signer.sign(id)', () => signer.sign(id), sampleMs),
    measure('signer.verify(cookie), valid', () => signer.verify(cookie), sampleMs),
    measure('encodeValue per key + encodeRecord', () => encodeRecord({ ...record, data: encodeData(MICRO_SESSION) }), sampleMs, 'JSON.stringify'),
    measure('JSON.stringify', () => JSON.stringify({ c: record.createdAt, u: record.userId, d: MICRO_SESSION }), sampleMs),
    measure('decodeRecord + decodeValue per key', () => decodeData(ours), sampleMs, 'JSON.parse'),
    measure('JSON.parse', () => JSON.parse(json) as unknown, sampleMs),
  ];
  return { results, sessionBytes: Buffer.byteLength(ours) };
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

function measure(name: string, op: () => unknown, sampleMs: number, baseline?: string): MicroResult {
  sample(op, Math.min(200, sampleMs)); // warm-up: let the JIT optimise before counting
  const opsPerSec = median([sample(op, sampleMs), sample(op, sampleMs), sample(op, sampleMs)]);
  return { name, opsPerSec, baseline };
}

/** ops/s over about `ms` milliseconds, timed in batches so the clock is not what is measured. */
function sample(op: () => unknown, ms: number): number {
  const batch = 500;
  let done = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i++) sink = op();
    done += batch;
    now = process.hrtime.bigint();
  }
  return done / (Number(now - start) / 1e9);
}

/** The micro-benchmarks as a Markdown table. */
export function microTable(results: readonly MicroResult[], sessionBytes: number): string {
  const lines = [
    `Session record: ${sessionBytes} bytes.`,
    '',
    '| operation | ops/s | µs/op | vs JSON built-in |',
    '|---|---:|---:|---:|',
  ];
  for (const r of results) {
    const base = r.baseline === undefined ? undefined : results.find((o) => o.name === r.baseline);
    const vs = base === undefined ? '' : `${(r.opsPerSec / base.opsPerSec).toFixed(2)}× ${r.baseline}`;
    lines.push(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${(1e6 / r.opsPerSec).toFixed(2)} | ${vs} |`);
  }
  // Keep the optimiser from proving the measured calls dead.
  if (sink === Symbol.for('never')) lines.push('');
  return lines.join('\n');
}
