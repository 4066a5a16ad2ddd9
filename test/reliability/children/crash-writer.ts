// Writer for crash.test.ts: streams saves to N sessions until it is SIGKILLed.
// Usage: crash-writer.ts <store URL> <prefix> <sessions>
// Protocol on stdout, one line each (pipe writes are synchronous on Linux, so a line printed
// is in the parent's pipe before the next write starts):
//   start <key> <n>   the value found at start-up (0 when it had to create the record)
//   go                every session exists; saves start
//   try <key> <n>     an update to n is about to be sent
//   ack <key> <n>     the store acknowledged n
import { createStore } from '../../../stores/index.js';
import { decodeRecord, encodeRecord } from '../../../src/record.js';
import type { SessionRecord } from '../../../src/record.js';

const [url, prefix, count] = process.argv.slice(2) as [string, string, string];
const store = createStore(url, { prefix, timeout: 5000 });
const HOUR = 3_600_000;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const text = (n: number, createdAt: number): string =>
  encodeRecord({ createdAt, userId: undefined, data: { n } });

interface Tracked {
  readonly key: string;
  value: string;
  record: SessionRecord;
}

async function open(key: string): Promise<Tracked> {
  const entry = await store.get(key);
  const record = entry === undefined ? undefined : decodeRecord(entry.value);
  if (entry !== undefined && record !== undefined) {
    say(`start ${key} ${String(record.data['n'])}`);
    return { key, value: entry.value, record };
  }
  if (entry !== undefined)
    throw new Error(`record ${key} does not decode: ${entry.value.slice(0, 80)}`);
  const value = text(0, Date.now());
  if (!(await store.create(key, value, Date.now() + HOUR)))
    throw new Error(`create ${key} refused`);
  say(`start ${key} 0`);
  return { key, value, record: decodeRecord(value) as SessionRecord };
}

async function stream(session: Tracked): Promise<never> {
  for (;;) {
    const n = (session.record.data['n'] as number) + 1;
    const value = text(n, session.record.createdAt);
    say(`try ${session.key} ${n}`);
    if (!(await store.update(session.key, session.value, value, Date.now() + HOUR)))
      throw new Error(`update ${session.key} to ${n} refused`);
    say(`ack ${session.key} ${n}`);
    session.value = value;
    session.record = decodeRecord(value) as SessionRecord;
  }
}

const sessions: Tracked[] = [];
for (let i = 0; i < Number(count); i++) sessions.push(await open(`w${i}`));
say('go');
// Every session is written at once, so a kill usually lands with several writes in flight.
await Promise.all(sessions.map(stream));
