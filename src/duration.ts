import { KvSessionError } from './errors.js';

/** A duration: milliseconds, or a string such as `'500ms'`, `'30s'`, `'30m'`, `'12h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a Duration into whole milliseconds; throws ERR_KVSESSION_BAD_OPTION for anything else. */
export function parseDuration(value: Duration, option: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return Math.ceil(value);
  } else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
    const unit = match?.[2];
    if (match && unit !== undefined) {
      const ms = Math.ceil(Number(match[1]) * (UNIT_MS[unit] ?? 0));
      if (ms > 0) return ms;
    }
  }
  throw new KvSessionError(
    'ERR_KVSESSION_BAD_OPTION',
    `${option} must be a positive number of milliseconds or a string like '30m', '12h' or '7d' (got ${JSON.stringify(value)})`,
  );
}
