import { describe, expect, it } from 'vitest';
import { KeyedBatcher } from '../src/keyed-batcher.js';
import { deferred } from './helpers/app.js';

describe('KeyedBatcher', () => {
  it('submit(key) while a run is in flight joins the next run: 1 + 9 requests cost 2 runs, each result to its caller', async () => {
    const runs: Array<{ key: string; count: number }> = [];
    const gate = deferred();
    let next = 0;
    const batcher = new KeyedBatcher<number>(async (key, count) => {
      runs.push({ key, count });
      if (runs.length === 1) await gate.promise;
      return Array.from({ length: count }, () => next++);
    });
    const first = batcher.submit('u');
    const rest = Array.from({ length: 9 }, () => batcher.submit('u'));
    gate.resolve();
    expect(await Promise.all([first, ...rest])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(runs).toEqual([
      { key: 'u', count: 1 },
      { key: 'u', count: 9 },
    ]);
  });

  it('different keys never share a run', async () => {
    const runs: string[] = [];
    const batcher = new KeyedBatcher<string>(async (key, count) => {
      runs.push(key);
      return new Array<string>(count).fill(key);
    });
    expect(
      await Promise.all([batcher.submit('a'), batcher.submit('b'), batcher.submit('a')]),
    ).toEqual(['a', 'b', 'a']);
    expect(runs.sort()).toEqual(['a', 'a', 'b']);
  });

  it('a failed run rejects every request of its batch, and the next batch runs normally', async () => {
    let calls = 0;
    const batcher = new KeyedBatcher<number>(async (_key, count) => {
      calls++;
      if (calls === 1) throw new Error('store down');
      return new Array<number>(count).fill(calls);
    });
    const failed = await Promise.allSettled([batcher.submit('u')]);
    expect(failed[0]).toMatchObject({ status: 'rejected', reason: { message: 'store down' } });
    expect(await batcher.submit('u')).toBe(2);
  });
});
