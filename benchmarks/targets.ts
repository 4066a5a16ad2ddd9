import type { Library, StoreKind } from './contenders.js';
import type { Row } from './summary.js';

/** One target from issue 5, judged on one kvsession row. */
export interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly verdict: 'PASS' | 'MISS' | 'n/a';
}

// Minimum req/s relative to bare Express on the read route, where the issue sets one.
const READ_FLOOR: Partial<Record<StoreKind, number>> = { memory: 0.85, redis: 0.7, postgres: 0.45 };
// Round-trip counts are averages over thousands of requests; this absorbs requests cut off at the window's edges.
const SLACK = 0.01;

/** Judges every kvsession row against the targets; never throws: misses are reported, not asserted. */
export function judge(rows: readonly Row[]): Verdict[] {
  const out: Verdict[] = [];
  for (const row of rows) {
    if (row.library === 'kvsession-dropin') {
      out.push(...judgeDropIn(row, rows));
      continue;
    }
    if (row.library !== 'kvsession') continue;
    const who = `${row.contender} /${row.route}`;
    const ops = row.reads + row.writes + row.deletes;
    if (row.unavailable !== undefined) {
      out.push({ target: `${who}: measured`, measured: row.unavailable, verdict: 'n/a' });
      continue;
    }
    const failed = row.failures > 0 ? ` (${row.failures} failed requests)` : '';
    switch (row.route) {
      case 'none':
        out.push(check(`${who}: 0 store ops`, opsText(row), ops <= SLACK));
        out.push(
          check(
            `${who}: ≥ 0.95 × bare`,
            withCpu(row) + emptyMiddleware(rows, row) + failed,
            row.vsBare >= 0.95 && row.failures === 0,
          ),
        );
        break;
      case 'read': {
        out.push(
          check(
            `${who}: 1 read, 0 writes`,
            opsText(row),
            Math.abs(row.reads - 1) <= SLACK && row.writes + row.deletes <= SLACK,
          ),
        );
        const floor = row.store === undefined ? undefined : READ_FLOOR[row.store];
        if (floor !== undefined) {
          out.push(
            check(
              `${who}: ≥ ${floor.toFixed(2)} × bare`,
              withCpu(row) + failed,
              row.vsBare >= floor && row.failures === 0,
            ),
          );
        }
        break;
      }
      case 'write':
        out.push(check(`${who}: ≤ 2 store round trips`, opsText(row), ops <= 2 + SLACK));
        out.push(
          Number.isFinite(row.vsExpressSession)
            ? check(
                `${who}: ≥ 1.2 × express-session`,
                `${ratio(row.vsExpressSession)} (by CPU ${ratio(cpuVsExpressSession(rows, row))})` +
                  failed +
                  rawClient(rows, row),
                row.vsExpressSession >= 1.2 && row.failures === 0,
              )
            : {
                target: `${who}: ≥ 1.2 × express-session`,
                measured: 'express-session not measured',
                verdict: 'n/a',
              },
        );
        break;
    }
  }
  return out;
}

/**
 * The drop-in's targets (issue 19): with a valid cookie it loads before next() (handlers read
 * synchronously), so /none costs the one read /read does, and both must reach 1.5 × express-session.
 */
function judgeDropIn(row: Row, rows: readonly Row[]): Verdict[] {
  const who = `${row.contender} /${row.route}`;
  if (row.unavailable !== undefined)
    return [{ target: `${who}: measured`, measured: row.unavailable, verdict: 'n/a' }];
  const failed = row.failures > 0 ? ` (${row.failures} failed requests)` : '';
  const vsEs = (floor: number): Verdict =>
    Number.isFinite(row.vsExpressSession)
      ? check(
          `${who}: ≥ ${floor} × express-session`,
          ratio(row.vsExpressSession) +
            failed +
            (row.route === 'write' ? '' : apiFloor(rows, row)) +
            rawClient(rows, row),
          row.vsExpressSession >= floor && row.failures === 0,
        )
      : {
          target: `${who}: ≥ ${floor} × express-session`,
          measured: 'express-session not measured',
          verdict: 'n/a',
        };
  if (row.route === 'write')
    return [
      check(
        `${who}: ≤ 2 store round trips`,
        opsText(row),
        row.reads + row.writes + row.deletes <= 2 + SLACK,
      ),
      vsEs(1.2),
    ];
  return [
    check(
      `${who}: 1 read, 0 writes`,
      opsText(row),
      Math.abs(row.reads - 1) <= SLACK && row.writes + row.deletes <= SLACK,
    ),
    vsEs(1.5),
  ];
}

function check(target: string, measured: string, ok: boolean): Verdict {
  return { target, measured, verdict: ok ? 'PASS' : 'MISS' };
}

/** "1.00 r + 0.00 w + 0.00 d" */
export function opsText(row: Row): string {
  return `${row.reads.toFixed(2)} r + ${row.writes.toFixed(2)} w + ${row.deletes.toFixed(2)} d`;
}

function ratio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : '—';
}

// What an app.use() layer that does nothing measured on the same route: the floor under any middleware.
function emptyMiddleware(rows: readonly Row[], row: Row): string {
  const noop = rows.find(
    (r) => r.library === 'noop' && r.route === row.route && r.unavailable === undefined,
  );
  return noop === undefined
    ? ''
    : `; an empty middleware: ${ratio(noop.vsBare)} (by CPU ${ratio(noop.cpuVsBare)})`;
}

/**
 * Where a middleware that only sets `req.session` and `req.sessionID` (no cookie, no store) stands
 * against express-session on the same store and route: the most any express-session-shaped
 * middleware can reach on Express, since each property added to a request costs V8 a new hidden class.
 */
function apiFloor(rows: readonly Row[], row: Row): string {
  const props = rows.find(
    (r) => r.library === 'properties' && r.route === row.route && r.unavailable === undefined,
  );
  const es = measuredBeside(rows, row, 'express-session');
  if (props === undefined || es === undefined) return '';
  return `; setting req.session and req.sessionID alone: ${ratio(props.vsBare / es.vsBare)} (by CPU ${ratio(props.cpuVsBare / es.cpuVsBare)})`;
}

/**
 * Where the raw client (one GET per request, one compare-and-set per save, nothing else) stands against
 * express-session on the same store and route: the most a session layer that reads once and never loses
 * a concurrent save can reach there. On /write also the raw client with kvsession's response hold: the
 * most a session middleware can reach, since it must hold back an answer the handler has already given.
 * Measured on Redis only.
 */
function rawClient(rows: readonly Row[], row: Row): string {
  const floors: Array<[Library, string]> = [['raw-client', 'the raw client alone']];
  if (row.route === 'write') floors.push(['raw-client-held', 'with the response hold']);
  return floors
    .map(([library, name]) => {
      const raw = measuredBeside(rows, row, library);
      return raw === undefined
        ? ''
        : `; ${name}: ${ratio(raw.vsExpressSession)} (by CPU ${ratio(cpuVsExpressSession(rows, raw))})`;
    })
    .join('');
}

/** express-session's CPU µs/request on the same store and route ÷ this row's. */
function cpuVsExpressSession(rows: readonly Row[], row: Row): number {
  const es = measuredBeside(rows, row, 'express-session');
  return es === undefined ? NaN : es.cpuMicrosPerRequest / row.cpuMicrosPerRequest;
}

/** The measured row of `library` on the same store and route as `row`, if any. */
function measuredBeside(rows: readonly Row[], row: Row, library: Library): Row | undefined {
  return rows.find(
    (r) =>
      r.library === library &&
      r.store === row.store &&
      r.route === row.route &&
      r.unavailable === undefined,
  );
}

function withCpu(row: Row): string {
  return `${ratio(row.vsBare)} (by CPU ${ratio(row.cpuVsBare)})`;
}
