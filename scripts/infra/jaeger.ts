/**
 * Jaeger v2 (an OpenTelemetry Collector distribution): OTLP receivers, an in-memory trace store, and
 * the query API and UI, for `npm start`, `npm run trace` and the tests that read traces back.
 *
 * Built from the Go module proxy, once per version, into `.cache/jaeger/<version>/jaeger`: the module
 * `scripts/jaeger/go.mod` pins `github.com/jaegertracing/jaeger` (its `cmd/jaeger` is the v2 binary)
 * as a tool dependency with every transitive version and checksum. `go install ...@version` is
 * refused because Jaeger's own go.mod has replace directives; as a dependency of this module it
 * builds. Cold: a few minutes on two cores; Go's module and build caches make a rebuild quick.
 * Config: `scripts/jaeger/config.yaml`. Log: `.cache/infra/jaeger.log`.
 *
 * The binary built this way serves Jaeger's placeholder page as its UI: the UI's assets are built
 * from the jaeger-ui repository and are not part of the Go module. JAEGER_UI_ASSETS, a directory of
 * a built jaeger-ui, makes it serve the real one. The query API (what `npm run trace` reads) is
 * complete either way.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  alive,
  type Component,
  log,
  portOpen,
  type Running,
  root,
  stateDir,
  stopPids,
  waitUntil,
} from './component.ts';

const moduleDir = join(root, 'scripts', 'jaeger');
const version =
  /github\.com\/jaegertracing\/jaeger v(\S+)/.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'))?.[1] ??
  'unknown';
/** The cached binary; the tests and `npm start` run this file. */
export const jaegerBinary = join(root, '.cache', 'jaeger', version, 'jaeger');

export interface JaegerOptions {
  /** OTLP/HTTP receiver: services and the Knative data plane export here (POST /v1/traces). */
  otlpHttpPort: number;
  otlpGrpcPort: number;
  /** Query API and UI (16686 by convention). */
  queryPort: number;
  queryGrpcPort: number;
  /** Health check extension: GET /status answers 200 once every pipeline is up. */
  healthPort: number;
  /** Log file; `.cache/infra/jaeger.log` by default. */
  logFile?: string;
}

/** Jaeger's customary ports, as its documentation and UI links assume them. */
export const jaegerDefaultPorts = {
  otlpHttpPort: 4318,
  otlpGrpcPort: 4317,
  queryPort: 16686,
  queryGrpcPort: 16685,
  healthPort: 13133,
} satisfies JaegerOptions;

function goCommand(): string {
  // The Go toolchain's default install location, for shells that do not have it on PATH.
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/local/go/bin')) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  throw new Error(
    'Jaeger is built with Go (1.26 or newer), and no `go` was found on PATH or in /usr/local/go/bin',
  );
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

export const jaeger: Component<JaegerOptions> = {
  name: 'jaeger',
  version,

  async prepare() {
    if (existsSync(jaegerBinary)) return;
    log(`building Jaeger ${version} (cmd/jaeger, the v2 binary) with Go from the module proxy (once)`);
    mkdirSync(join(jaegerBinary, '..'), { recursive: true });
    // Written beside the final name, then renamed: a concurrent prepare never runs half a binary.
    const partial = `${jaegerBinary}.${process.pid}.partial`;
    const started = Date.now();
    await run(
      'nice',
      [
        '-n',
        '10',
        goCommand(),
        'build',
        '-trimpath',
        '-o',
        partial,
        'github.com/jaegertracing/jaeger/cmd/jaeger',
      ],
      moduleDir,
      // The toolchain this machine has; never download another one.
      { ...process.env, GOTOOLCHAIN: 'local' },
    );
    renameSync(partial, jaegerBinary);
    log(`built Jaeger ${version} in ${Math.round((Date.now() - started) / 1000)} s: ${jaegerBinary}`);
  },

  async start(options) {
    await this.prepare();
    const { otlpHttpPort, otlpGrpcPort, queryPort, queryGrpcPort, healthPort } = options;
    for (const port of [otlpHttpPort, otlpGrpcPort, queryPort, queryGrpcPort, healthPort]) {
      // A port answered by someone else would look like readiness.
      if (await portOpen(port)) throw new Error(`Jaeger: 127.0.0.1:${port} is already in use`);
    }
    const logFile = options.logFile ?? join(stateDir, 'jaeger.log');
    mkdirSync(join(logFile, '..'), { recursive: true });
    log(
      `starting Jaeger ${version}: OTLP on 127.0.0.1:${otlpHttpPort} (HTTP) and :${otlpGrpcPort} (gRPC), UI on :${queryPort}`,
    );
    const logFd = openSync(logFile, 'w');
    const child = spawn(jaegerBinary, ['--config', join(moduleDir, 'config.yaml')], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: {
        ...process.env,
        JAEGER_OTLP_HTTP_PORT: String(otlpHttpPort),
        JAEGER_OTLP_GRPC_PORT: String(otlpGrpcPort),
        JAEGER_QUERY_PORT: String(queryPort),
        JAEGER_QUERY_GRPC_PORT: String(queryGrpcPort),
        JAEGER_HEALTH_PORT: String(healthPort),
      },
    });
    child.unref();
    const running: Running = {
      pids: [child.pid as number],
      env: {
        // OTLP/HTTP base URL: an exporter appends /v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT semantics).
        JAEGER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpHttpPort}`,
        JAEGER_QUERY_URL: `http://127.0.0.1:${queryPort}`,
      },
      logs: [logFile],
    };
    const healthy = () =>
      fetch(`http://127.0.0.1:${healthPort}/status`).then(
        (response) => response.ok,
        () => false,
      );
    await waitUntil(
      'Jaeger',
      async () => (await healthy()) && (await portOpen(otlpHttpPort)) && (await portOpen(queryPort)),
      30_000,
      running.pids,
      running.logs,
    );
    return running;
  },

  alive: (running) => running.pids.every(alive),

  async stop(running) {
    log('stopping Jaeger');
    await stopPids(running.pids, 10_000);
  },
};
