import { describe, expect, it } from 'vitest';
import { GroupCommit, LookupBatcher } from '../stores/sql-batch.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A LookupBatcher over a fixed table that records every query it would send. */
function lookups(table: Record<string, string>, max?: number) {
  const calls: string[][] = [];
  const batcher = new LookupBatcher<string>(
    async (key) => {
      calls.push([key]);
      return table[key];
    },
    async (keys) => {
      calls.push(keys);
      return new Map(keys.filter((k) => k in table).map((k) => [k, table[k] as string]));
    },
    max,
  );
  return { batcher, calls };
}

describe('LookupBatcher', () => {
  it('sends the lookups of one turn of the event loop as one query, each caller getting its own answer', async () => {
    const { batcher, calls } = lookups({ a: '1', b: '2' });
    const answers = await Promise.all(['a', 'b', 'missing', 'a'].map((k) => batcher.get(k)));
    expect(answers).toEqual(['1', '2', undefined, '1']);
    // Duplicates are asked once.
    expect(calls).toEqual([['a', 'b', 'missing']]);
  });

  it('a lone lookup goes out as a single-key query, and later turns form their own batches', async () => {
    const { batcher, calls } = lookups({ a: '1', b: '2' });
    expect(await batcher.get('a')).toBe('1');
    expect(await Promise.all([batcher.get('b'), batcher.get('a')])).toEqual(['2', '1']);
    expect(calls).toEqual([['a'], ['b', 'a']]);
  });

  it('splits a large burst into queries of at most `max` keys', async () => {
    const table = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`]));
    const { batcher, calls } = lookups(table, 4);
    const answers = await Promise.all(Object.keys(table).map((k) => batcher.get(k)));
    expect(answers).toEqual(Object.values(table));
    expect(calls.map((c) => c.length)).toEqual([4, 4, 2]);
  });

  it('a failed query rejects every caller in it, with its error, and the next turn works again', async () => {
    let fail = true;
    const batcher = new LookupBatcher<string>(
      async () => 'one',
      async (keys) => {
        if (fail) throw new Error('connection lost');
        return new Map(keys.map((k) => [k, k.toUpperCase()]));
      },
    );
    const outcomes = await Promise.allSettled([batcher.get('a'), batcher.get('b')]);
    expect(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value)),
    ).toEqual(['connection lost', 'connection lost']);
    fail = false;
    expect(await Promise.all([batcher.get('a'), batcher.get('b')])).toEqual(['A', 'B']);
  });

  it('a lookup function that throws instead of rejecting fails its callers and crashes nothing', async () => {
    const batcher = new LookupBatcher<string>(
      () => {
        throw new Error('sync one');
      },
      () => {
        throw new Error('sync many');
      },
    );
    await expect(batcher.get('a')).rejects.toThrow('sync one');
    await expect(Promise.all([batcher.get('a'), batcher.get('b')])).rejects.toThrow('sync many');
  });
});

/** A GroupCommit whose transaction statements are logged beside the writes. */
function group(options: { failBegin?: boolean; failCommit?: boolean } = {}) {
  const log: string[] = [];
  const commit = new GroupCommit<string>({
    begin: async () => {
      log.push('BEGIN');
      if (options.failBegin) throw new Error('SQLITE_BUSY: database is locked');
    },
    commit: async () => {
      log.push('COMMIT');
      if (options.failCommit) throw new Error('SQLITE_FULL: disk is full');
    },
    rollback: async () => {
      log.push('ROLLBACK');
    },
  });
  const write = (name: string, fail = false): Promise<string> =>
    commit.write(async () => {
      log.push(name);
      await tick();
      if (fail) throw new Error(`${name} failed`);
      return `${name} done`;
    });
  return { log, write };
}

describe('GroupCommit', () => {
  it('a lone write runs on its own, with no transaction around it', async () => {
    const { log, write } = group();
    expect(await write('w1')).toBe('w1 done');
    expect(log).toEqual(['w1']);
  });

  it('writes issued together commit as one group; writes arriving during that commit form the next group', async () => {
    const { log, write } = group();
    const first = [write('a'), write('b'), write('c')];
    // Arrives while the first group is being written.
    await tick();
    const late = [write('d'), write('e')];
    expect(await Promise.all([...first, ...late])).toEqual([
      'a done',
      'b done',
      'c done',
      'd done',
      'e done',
    ]);
    expect(log).toEqual(['BEGIN', 'a', 'b', 'c', 'COMMIT', 'BEGIN', 'd', 'e', 'COMMIT']);
  });

  it('a statement that fails answers only its own caller; the rest of its group still commits', async () => {
    const { log, write } = group();
    const outcomes = await Promise.allSettled([write('a'), write('b', true), write('c')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log.at(-1)).toBe('COMMIT');
  });

  it('a statement that throws instead of rejecting fails only its own caller, and the store keeps taking writes', async () => {
    const log: string[] = [];
    const commit = new GroupCommit<string>({
      begin: async () => log.push('BEGIN'),
      commit: async () => log.push('COMMIT'),
      rollback: async () => log.push('ROLLBACK'),
    });
    const throwing = (): Promise<string> => {
      throw new Error('sync');
    };
    const outcomes = await Promise.allSettled([
      commit.write(throwing),
      commit.write(async () => 'ok'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect(log).toEqual(['BEGIN', 'COMMIT']);
    expect(await commit.write(async () => 'later')).toBe('later');
  });

  it('a failed COMMIT rolls back and fails every write of the group: none of them is durable', async () => {
    const { log, write } = group({ failCommit: true });
    const outcomes = await Promise.allSettled([write('a'), write('b')]);
    expect(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value)),
    ).toEqual(['SQLITE_FULL: disk is full', 'SQLITE_FULL: disk is full']);
    expect(log).toEqual(['BEGIN', 'a', 'b', 'COMMIT', 'ROLLBACK']);
  });

  it('a failed BEGIN fails the group without running its statements, and later writes still run', async () => {
    const { log, write } = group({ failBegin: true });
    const outcomes = await Promise.allSettled([write('a'), write('b')]);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(log).toEqual(['BEGIN']);
    expect(await write('c')).toBe('c done');
  });
});
