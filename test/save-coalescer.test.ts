import { describe, expect, it } from 'vitest';
import { PendingChanges } from '../src/pending-changes.js';
import { SaveCoalescer } from '../src/save-coalescer.js';

function changes(set: Record<string, number>, clear = false): PendingChanges {
  const c = new PendingChanges();
  if (clear) c.clear();
  for (const [k, v] of Object.entries(set)) c.set(k, v);
  return c;
}

/** A save that records what it was given and finishes when released. */
function gatedSave() {
  const calls: Record<string, unknown>[] = [];
  const gates: (() => void)[] = [];
  const save = (c: PendingChanges): Promise<string> => {
    calls.push(Object.fromEntries(c.applyTo({ base: 0 })));
    return new Promise((resolve) => gates.push(() => resolve(`saved#${calls.length}`)));
  };
  return { calls, save, releaseNext: () => gates.shift()?.() };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SaveCoalescer', () => {
  it('run(key) while a save of that key is in flight waits, then saves every waiting change as one write, in arrival order', async () => {
    const saves = new SaveCoalescer<string>();
    const { calls, save, releaseNext } = gatedSave();
    const first = saves.run('k', changes({ a: 1 }), save);
    const rest = [changes({ b: 2 }), changes({ b: 3, c: 4 }), changes({ d: 5 }, true)].map((c) =>
      saves.run('k', c, save),
    );
    await tick();
    expect(calls).toEqual([{ base: 0, a: 1 }]);
    releaseNext();
    expect(await first).toBe('saved#1');
    await tick();
    // clear() in the last request drops what the earlier ones set, as it would have sequentially.
    expect(calls).toEqual([{ base: 0, a: 1 }, { d: 5 }]);
    releaseNext();
    expect(await Promise.all(rest)).toEqual(['saved#2', 'saved#2', 'saved#2']);
  });

  it('saves of different keys never wait for each other', async () => {
    const saves = new SaveCoalescer<string>();
    const { calls, save } = gatedSave();
    void saves.run('k1', changes({ a: 1 }), save);
    void saves.run('k2', changes({ b: 1 }), save);
    await tick();
    expect(calls).toHaveLength(2);
  });

  it('a combined save that fails is retried member by member, so one failure rejects only its own run()', async () => {
    const saves = new SaveCoalescer<string>();
    const { save: gated, releaseNext } = gatedSave();
    const save = (c: PendingChanges): Promise<string> => {
      const data = Object.fromEntries(c.applyTo(undefined));
      return 'bad' in data
        ? Promise.reject(new Error('too large'))
        : Promise.resolve(JSON.stringify(data));
    };
    const first = saves.run('k', changes({ a: 1 }), gated);
    const good = saves.run('k', changes({ g: 1 }), save);
    const bad = saves.run('k', changes({ bad: 1 }), save);
    await tick();
    releaseNext();
    await first;
    expect(await good).toBe('{"g":1}');
    await expect(bad).rejects.toThrow('too large');
  });
});
