/**
 * CPU profiles of the services during one phase, taken through the inspector (the services run
 * with --inspect), so that start-up is not in them; and their summary: self time by function and
 * by package, as shares of the time the process was not idle.
 * https://chromedevtools.github.io/devtools-protocol/v8/Profiler/
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  service: string;
  /** Seconds sampled, and of those not idle. */
  seconds: number;
  busySeconds: number;
  topFunctions: { name: string; where: string; percent: number }[];
  topPackages: { name: string; percent: number }[];
}

/** Where code comes from: an npm package, a Soundgood workspace, Node itself, or V8. */
export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (internals)';
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) {
    const parts = url.slice(nodeModules + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const workspace = /\/(services\/[^/]+|events\/[^/]+|prisma)\//.exec(url);
  return workspace ? `soundgood ${workspace[1]}` : url;
}

function shortUrl(url: string): string {
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) return url.slice(nodeModules + '/node_modules/'.length);
  const workspace = /\/((?:services|events)\/.+)$/.exec(url);
  return workspace?.[1] ?? url;
}

interface Inspector {
  send<T>(method: string, params?: unknown): Promise<T>;
  close(): void;
}

async function connect(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.onmessage = (message) => {
    const reply = JSON.parse(String(message.data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiter = reply.id === undefined ? undefined : pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id as number);
    if (reply.error) waiter.reject(new Error(reply.error.message));
    else waiter.resolve(reply.result);
  };
  let id = 0;
  return {
    send: <T>(method: string, params: unknown = {}) =>
      new Promise<T>((resolve, reject) => {
        id++;
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Starts sampling every service; the returned function stops and summarizes them, hottest first. */
export async function startProfiling(
  ports: Record<string, number>,
): Promise<() => Promise<ProfileSummary[]>> {
  const inspectors = await Promise.all(
    Object.entries(ports).map(async ([service, port]) => {
      const inspector = await connect(port);
      await inspector.send('Profiler.enable');
      await inspector.send('Profiler.setSamplingInterval', { interval: 1000 });
      await inspector.send('Profiler.start');
      return { service, inspector };
    }),
  );
  return async () => {
    const summaries = await Promise.all(
      inspectors.map(async ({ service, inspector }) => {
        const { profile } = await inspector.send<{ profile: CpuProfile }>('Profiler.stop');
        inspector.close();
        // The raw profile too, for Chrome DevTools or a call-tree reading (BENCH_PROFILE_DIR).
        const dir = process.env.BENCH_PROFILE_DIR;
        if (dir) {
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, `${service}.cpuprofile`), JSON.stringify(profile));
        }
        return summarizeProfile(service, profile);
      }),
    );
    return summaries.sort((a, b) => b.busySeconds - a.busySeconds);
  };
}

export function summarizeProfile(service: string, profile: CpuProfile, top = 15): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByNode = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, { name: string; where: string; micros: number }>();
  const byPackage = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfByNode) {
    const { functionName, url, lineNumber } = (nodes.get(id) as ProfileNode).callFrame;
    if (functionName === '(idle)') continue;
    busy += micros;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  }
  const percent = (micros: number) => Math.round((micros / busy) * 1000) / 10;
  return {
    service,
    seconds: (profile.endTime - profile.startTime) / 1e6,
    busySeconds: busy / 1e6,
    topFunctions: [...byFunction.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top)
      .map(({ name, where, micros }) => ({ name, where, percent: percent(micros) })),
    topPackages: [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, percent: percent(micros) })),
  };
}
