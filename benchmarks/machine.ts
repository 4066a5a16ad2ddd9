import { cpus, loadavg, release, totalmem, type } from 'node:os';

/** What the numbers were measured on; load averages matter on a shared box. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly date: string;
  readonly loadBefore: string;
  loadAfter: string;
}

/** Snapshot of the machine at the start of a run; set `loadAfter` at the end. */
export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
    loadBefore: currentLoad(),
    loadAfter: '',
  };
}

/** The 1/5/15-minute load averages. */
export function currentLoad(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}
