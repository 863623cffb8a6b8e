/**
 * CPU and memory per process, from /proc: CPU time (utime + stime) over a phase as a percentage of
 * one core, and the highest resident set size seen. A group (postgres) may gain and lose processes
 * during the phase: a process that appears counts from zero, one that exits keeps its last reading.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const ticksPerSecond = 100; // USER_HZ: 100 on every Linux architecture Node runs on

export interface ProcessUsage {
  /** Percent of one core; 200 = both cores of a 2-core machine. */
  cpuPercent: number;
  /** CPU time used over the measurement, user + system, in seconds. */
  cpuSeconds: number;
  /** Highest resident set size seen, in MiB (summed over the group's processes). */
  rssMiB: number;
  processes: number;
}

export interface MachineUsage {
  /** Busy percent of all cores. */
  cpuPercent: number;
  /** Busy percent of all cores not attributed to any measured group (other agents, the OS). */
  otherPercent: number;
  loadAverage: number[];
}

export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Processes whose command line contains every one of `parts`. */
export function findPids(...parts: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (parts.every((part) => cmdline.includes(part))) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
}

/** The processes of one group, looked up again at every sample. */
export type PidSource = () => number[] | Promise<number[]>;

interface Tracked {
  first: number;
  last: number;
}

/** Samples every group once a second from start() to stop(). */
export class ProcessMeter {
  private readonly tracked = new Map<string, Map<number, Tracked>>();
  private readonly peakRss = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private machineStart = machineTicks();
  private sampling?: Promise<void>;

  private readonly groups: Record<string, PidSource>;

  constructor(groups: Record<string, PidSource>) {
    this.groups = groups;
  }

  async start(): Promise<void> {
    this.startedAt = performance.now();
    this.machineStart = machineTicks();
    for (const name of Object.keys(this.groups)) {
      this.tracked.set(name, new Map());
      this.peakRss.set(name, 0);
    }
    await this.sample(true);
    this.timer = setInterval(() => {
      this.sampling ??= this.sample(false).finally(() => {
        this.sampling = undefined;
      });
    }, 1000);
  }

  async stop(): Promise<{ processes: Record<string, ProcessUsage>; machine: MachineUsage }> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample(false);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const machineEnd = machineTicks();
    const processes: Record<string, ProcessUsage> = {};
    let attributed = 0;
    for (const [name, pids] of this.tracked) {
      let ticks = 0;
      for (const { first, last } of pids.values()) ticks += last - first;
      attributed += ticks;
      processes[name] = {
        cpuPercent: (ticks / ticksPerSecond / seconds) * 100,
        cpuSeconds: ticks / ticksPerSecond,
        rssMiB: (this.peakRss.get(name) ?? 0) / 2 ** 20,
        processes: pids.size,
      };
    }
    const busy = machineEnd.busy - this.machineStart.busy;
    const total = machineEnd.total - this.machineStart.total || 1;
    return {
      processes,
      machine: {
        cpuPercent: (busy / total) * 100,
        otherPercent: (Math.max(0, busy - attributed) / total) * 100,
        loadAverage: loadavg(),
      },
    };
  }

  private async sample(initial: boolean): Promise<void> {
    for (const [name, source] of Object.entries(this.groups)) {
      const pids = await Promise.resolve(source()).catch(() => [] as number[]);
      const tracked = this.tracked.get(name) as Map<number, Tracked>;
      let rss = 0;
      for (const pid of pids) {
        const ticks = cpuTicks(pid);
        if (ticks === undefined) continue;
        const known = tracked.get(pid);
        if (known) known.last = ticks;
        else tracked.set(pid, { first: initial ? ticks : 0, last: ticks });
        rss += rssBytes(pid) ?? 0;
      }
      this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, rss));
    }
  }
}
