import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/duration.js';
import { KvSessionError } from '../src/errors.js';

describe('parseDuration(value, option)', () => {
  it('takes positive milliseconds as numbers, rounding fractions up', () => {
    expect(parseDuration(1, 'x')).toBe(1);
    expect(parseDuration(1500, 'x')).toBe(1500);
    expect(parseDuration(0.2, 'x')).toBe(1);
  });

  it('parses ms, s, m, h and d strings', () => {
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration('30s', 'x')).toBe(30_000);
    expect(parseDuration('30m', 'x')).toBe(1_800_000);
    expect(parseDuration('12h', 'x')).toBe(43_200_000);
    expect(parseDuration('7d', 'x')).toBe(604_800_000);
    expect(parseDuration('1.5h', 'x')).toBe(5_400_000);
    expect(parseDuration(' 2 m ', 'x')).toBe(120_000);
  });

  const bad: unknown[] = [
    0,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    '30',
    'm',
    '30x',
    '-5m',
    '0s',
    '1e3ms',
    '30 minutes',
    'abc',
    null,
    {},
    [],
    true,
  ];
  for (const value of bad) {
    it(`parseDuration(${typeof value === 'number' ? String(value) : JSON.stringify(value)}) throws ERR_KVSESSION_BAD_OPTION`, () => {
      let caught: unknown;
      try {
        parseDuration(value as number, 'idleTimeout');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(KvSessionError);
      expect((caught as KvSessionError).code).toBe('ERR_KVSESSION_BAD_OPTION');
    });
  }
});
