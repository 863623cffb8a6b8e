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
 * The Go module carries no UI (Jaeger's release builds embed the jaeger-ui submodule's npm build; a
 * module build embeds a placeholder page). With `ui: true` (`npm start`) the UI is built once from the
 * vendored jaeger-ui source (`scripts/jaeger/jaeger-ui-<tag>.tar.gz`, the tag Jaeger's submodule
 * points at) with `npm ci` and its own build into `.cache/jaeger-ui/<tag>/`, and Jaeger serves it
 * (`jaeger_query.ui.assets_path`). A failed build is logged and Jaeger starts with the placeholder:
 * the query API (what `npm run trace` reads) is complete either way. Without `ui` (the tests),
 * JAEGER_UI_ASSETS, when set, names a built jaeger-ui to serve.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** The vendored jaeger-ui source; its file name carries the tag (one pin, in one place). */
const uiTarball = readdirSync(moduleDir).find((name) => /^jaeger-ui-v[\d.]+\.tar\.gz$/.test(name));
const uiVersion = /^jaeger-ui-(v[\d.]+)\.tar\.gz$/.exec(uiTarball ?? '')?.[1] ?? 'unknown';
/** The built UI (index.html and its assets) and the log of its build. */
export const jaegerUi = {
  version: uiVersion,
  dir: join(root, '.cache', 'jaeger-ui', uiVersion),
  buildLog: join(stateDir, 'jaeger-ui-build.log'),
};

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
  /** Build the real UI (once, minutes cold) and serve it; the placeholder page otherwise. */
  ui?: boolean;
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

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  output: 'inherit' | number = 'inherit',
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', output, output] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/**
 * Builds jaeger-ui as Jaeger's own build does (scripts/build/rebuild-ui.sh at v1.76.0: `npm ci`, then
 * `npm run build` in packages/jaeger-ui), in a temporary directory outside any git work tree, into
 * `.cache/jaeger-ui/<tag>/`. npm's output goes to {@link jaegerUi.buildLog}.
 */
async function buildUi(): Promise<void> {
  if (existsSync(join(jaegerUi.dir, 'index.html'))) return;
  if (!uiTarball) throw new Error(`no jaeger-ui-<tag>.tar.gz in ${moduleDir}`);
  log(`building the Jaeger UI ${uiVersion} with npm (once, a few minutes cold); log: ${jaegerUi.buildLog}`);
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'jaeger-ui-'));
  mkdirSync(stateDir, { recursive: true });
  const output = openSync(jaegerUi.buildLog, 'w');
  try {
    // The inner npm reads its own project's settings, not those `npm start` passes to its children;
    // node 24 first on PATH (jaeger-ui's .npmrc has engine-strict, engines.node >= 24); no git hooks.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
    env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
    env.HUSKY = '0';
    await run(
      'tar',
      ['-xzf', join(moduleDir, uiTarball), '-C', work, '--strip-components=1'],
      work,
      env,
      output,
    );
    await run('nice', ['-n', '10', 'npm', 'ci', '--no-audit', '--no-fund'], work, env, output);
    const app = join(work, 'packages', 'jaeger-ui');
    await run('nice', ['-n', '10', 'npm', 'run', 'build'], app, env, output);
    // Copied beside the final name, then renamed: a concurrent start never serves half a UI.
    const partial = `${jaegerUi.dir}.${process.pid}.partial`;
    cpSync(join(app, 'build'), partial, { recursive: true });
    if (existsSync(jaegerUi.dir)) rmSync(partial, { recursive: true });
    else renameSync(partial, jaegerUi.dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`built the Jaeger UI ${uiVersion} in ${Math.round((Date.now() - started) / 1000)} s: ${jaegerUi.dir}`);
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
    let assets = process.env.JAEGER_UI_ASSETS ?? '';
    if (options.ui) {
      try {
        await buildUi();
        assets = jaegerUi.dir;
      } catch (error) {
        log(
          `the Jaeger UI did not build (${(error as Error).message}; log: ${jaegerUi.buildLog}); ` +
            `Jaeger starts with its placeholder page, the query API and \`npm run trace\` work`,
        );
      }
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
        JAEGER_UI_ASSETS: assets,
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
