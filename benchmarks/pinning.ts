import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Where the benchmark's processes run. On a 2-core machine an unpinned server and load generator
 * trade cores with each other and with the backends, and req/s moved by ±15% between identical
 * cells; with the server alone on one core and the load generator on another it moves by a few %.
 */
export interface Pinning {
  /** CPU of the load generator (this process), or undefined when not pinned. */
  readonly loadCpu: number | undefined;
  /** CPU of every server process (all its threads), or undefined when not pinned. */
  readonly serverCpu: number | undefined;
  /** One line for the report. */
  readonly description: string;
}

/** Pins this process to CPU 0 and returns where servers go, when `wanted`, taskset exists and there are 2+ CPUs. */
export function setUpPinning(wanted: boolean): Pinning {
  if (!wanted)
    return { loadCpu: undefined, serverCpu: undefined, description: 'not pinned (--no-pin)' };
  if (availableParallelism() < 2)
    return { loadCpu: undefined, serverCpu: undefined, description: 'not pinned (one CPU)' };
  try {
    pin(process.pid, 0);
  } catch {
    return { loadCpu: undefined, serverCpu: undefined, description: 'not pinned (no taskset)' };
  }
  return {
    loadCpu: 0,
    serverCpu: 1,
    description: 'server process on CPU 1, load generator on CPU 0 (taskset); backends unpinned',
  };
}

/** Moves every thread of `pid` to `cpu`; throws when taskset is missing or refuses. */
export function pin(pid: number, cpu: number): void {
  execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', String(cpu), String(pid)], {
    stdio: 'ignore',
  });
}
