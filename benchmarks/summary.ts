import type { Contender, Library, Route, StoreKind } from './contenders.js';
import type { Cell } from './measure.js';

/** One line of the results table: a contender on a route, aggregated over repetitions. */
export interface Row {
  readonly route: Route;
  readonly contender: string;
  readonly library: Library;
  readonly store: StoreKind | undefined;
  /** Why the contender could not be measured; when set, the numbers below are NaN. */
  readonly unavailable: string | undefined;
  readonly rps: number;
  readonly p99Ms: number;
  /** Median over repetitions of req/s ÷ the req/s of the bare-Express cell measured in the same group. */
  readonly vsBare: number;
  /** Median over repetitions of req/s ÷ express-session's on the same store (kvsession and raw-client rows only). */
  readonly vsExpressSession: number;
  /** Server process CPU time per served request, µs. */
  readonly cpuMicrosPerRequest: number;
  /** Median over repetitions of bare Express's CPU µs/request ÷ this one's: the req/s ratio a CPU-bound server would reach. */
  readonly cpuVsBare: number;
  /** Store calls per served request, by kind. */
  readonly reads: number;
  readonly writes: number;
  readonly deletes: number;
  readonly failures: number;
  readonly reps: number;
}

// Store methods by what they cost the backend, for both libraries' method names.
const READS = new Set(['get']);
const WRITES = new Set(['create', 'update', 'touch', 'mergeData', 'set']);
const DELETES = new Set(['delete', 'destroy']);

/** Aggregates cells into rows, in the order routes × contenders. */
export function summarize(
  cells: readonly Cell[],
  contenders: readonly Contender[],
  routes: readonly Route[],
  unavailable: ReadonlyMap<string, string>,
): Row[] {
  const rows: Row[] = [];
  const bareId = contenders.find((c) => c.library === 'bare')?.id;
  const bareOf = (cell: Cell): Cell | undefined =>
    cells.find(
      (o) =>
        o.contender === bareId &&
        o.route === cell.route &&
        o.rep === cell.rep &&
        o.group === cell.group,
    );
  for (const route of routes) {
    for (const c of contenders) {
      const mine = cells.filter((cell) => cell.route === route && cell.contender === c.id);
      const reason = unavailable.get(c.id) ?? (mine.length === 0 ? 'not measured' : undefined);
      const esId = comparedWithExpressSession(c.library) ? `express-session/${c.store}` : undefined;
      const served = sum(mine.map((cell) => cell.stats.served));
      const perRequest = (kinds: Set<string>): number =>
        served === 0
          ? 0
          : sum(
              mine.flatMap((cell) =>
                Object.entries(cell.stats.ops)
                  .filter(([op]) => kinds.has(op))
                  .map(([, n]) => n),
              ),
            ) / served;
      rows.push({
        route,
        contender: c.id,
        library: c.library,
        store: c.store,
        unavailable: reason,
        rps: median(mine.map((cell) => cell.load.rps)),
        p99Ms: median(mine.map((cell) => cell.load.p99Ms)),
        vsBare: median(mine.map((cell) => cell.load.rps / (bareOf(cell)?.load.rps ?? NaN))),
        vsExpressSession: median(
          mine.map((cell) => {
            const es = cells.find(
              (o) => o.route === route && o.rep === cell.rep && o.contender === esId,
            );
            return es === undefined ? NaN : cell.load.rps / es.load.rps;
          }),
        ),
        cpuMicrosPerRequest:
          served === 0 ? NaN : sum(mine.map((cell) => cell.stats.cpuMicros)) / served,
        cpuVsBare: median(mine.map((cell) => cpuPerRequest(bareOf(cell)) / cpuPerRequest(cell))),
        reads: perRequest(READS),
        writes: perRequest(WRITES),
        deletes: perRequest(DELETES),
        failures: sum(mine.map((cell) => cell.load.failures)),
        reps: mine.length,
      });
    }
  }
  return rows;
}

/** Whether a contender's row gives its ratio to express-session on the same store. */
export function comparedWithExpressSession(library: Library): boolean {
  return (
    library === 'kvsession' ||
    library === 'kvsession-dropin' ||
    library === 'raw-client' ||
    library === 'raw-client-held'
  );
}

/** Server CPU µs per request in one cell. */
export function cpuPerRequest(cell: Cell | undefined): number {
  return cell === undefined || cell.stats.served === 0
    ? NaN
    : cell.stats.cpuMicros / cell.stats.served;
}

/** Median of the finite values, NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
