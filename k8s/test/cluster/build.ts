// Builds the control plane the cluster tests run against, from the Go module proxy only:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and Flux's kustomize-controller and
// source-controller.
//
//   node k8s/test/cluster/build.ts      build what is missing, print where the binaries are
//
// Each component is cached in .cache/kube/<component>@<version>/bin, so a pin change rebuilds that
// component and nothing else. Go's own module and build caches (~/go/pkg/mod, ~/.cache/go-build) are
// used as they are: a warm machine relinks in seconds, a cold one compiles for ~12 minutes on 2 cores.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

function vendoredCrdVersion(component: string): string {
  const sources = parse(readFileSync(resolve(import.meta.dirname, '../../crd-sources.yaml'), 'utf8')) as {
    components: { component: string; version: string }[];
  };
  const entry = sources.components.find((c) => c.component === component);
  if (!entry) throw new Error(`k8s/crd-sources.yaml has no ${component}`);
  return `v${entry.version}`;
}

export const versions = {
  etcd: 'v3.7.3',
  // The newest v1.34 patch the proxy serves; its staging modules are published as v0.34.x.
  kubernetes: 'v1.34.4',
  kwok: 'v0.8.0',
  // The release of the Flux the repository bootstraps: the one its CRDs are vendored from.
  kustomizeController: vendoredCrdVersion('flux-kustomize-controller'),
  // Not the v1.9.5 that Flux 2.9.5 pins (k8s/crd-sources.yaml): the proxy answers 403 for the zip of
  // github.com/fluxcd/pkg/artifact v0.18.3 that v1.9.5 builds with (and for v0.18.2, v1.9.4's). v1.9.3 is
  // the nearest patch whose whole build graph it serves (artifact v0.18.1); same source.toolkit.fluxcd.io/v1 API.
  sourceController: 'v1.9.3',
} as const;

export const cacheRoot = resolve(import.meta.dirname, '../../../.cache/kube');

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** kwok's shipped Stage objects (node-initialize, heartbeat, pod-ready, ...), one YAML stream. */
  kwokStages: string;
  kustomizeController: string;
  sourceController: string;
}

const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
// No VCS stamping (the scratch modules are not repositories); never download another toolchain.
const goEnv: NodeJS.ProcessEnv = { ...process.env, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'local' };

function log(message: string): void {
  process.stderr.write(`kube build: ${message}\n`);
}

function run(cwd: string, args: string[]): string {
  // nice: the machine's two cores are shared with the rest of the test run.
  return execFileSync('nice', ['-n', '10', go, ...args], {
    cwd,
    env: goEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The module's own go.mod from the proxy, through `go mod download` (it lands in the module cache). */
function upstreamGoMod(module: string, version: string): string {
  const info = JSON.parse(run(cacheRoot, ['mod', 'download', '-json', `${module}@${version}`])) as {
    GoMod: string;
    Dir: string;
  };
  return readFileSync(info.GoMod, 'utf8');
}

/**
 * A module's `replace` directives as seen by a module that requires it. Go ignores a dependency's
 * replaces, so they are copied; the ones pointing into its own tree (`=> ./api`, `=> ./staging/...`)
 * become the published module at `localVersion(path)`.
 */
function replacesOf(goMod: string, localVersion: (path: string) => string): string[] {
  const lines: string[] = [];
  const body = goMod.replace(/^replace \(\n([\s\S]*?)^\)/gm, (_, block: string) =>
    block
      .split('\n')
      .map((line) => `replace ${line.trim()}`)
      .join('\n'),
  );
  for (const line of body.split('\n')) {
    const match = /^replace\s+(\S+)(?:\s+\S+)?\s+=>\s+(\S+)(?:\s+(\S+))?/.exec(line.trim());
    if (!match) continue;
    const [, from = '', to = '', version = ''] = match;
    if (to.startsWith('.')) lines.push(`replace ${from} => ${from} ${localVersion(from)}`);
    else lines.push(`replace ${from} => ${to} ${version}`);
  }
  return lines;
}

interface Scratch {
  component: string;
  version: string;
  /** Modules to require, with versions. */
  require: Record<string, string>;
  replace?: string[];
  /** Binaries to build: name in bin/ -> main package. */
  binaries: Record<string, string>;
  ldflags?: string;
  /** Checksum-database misses for some of the dependency graph's test-only modules. */
  noSumDb?: string;
  /**
   * Resolve with `go get <module>@<version>` (build dependencies only) instead of `go mod tidy`, which
   * also resolves the dependencies' tests: for graphs where the proxy refuses a test-only module.
   */
  buildDependenciesOnly?: boolean;
}

/**
 * Builds main packages of published modules through a throwaway module: `go install m@v` refuses
 * modules with replace directives, and a scratch module is where their replaces can be restated.
 */
function buildScratch(spec: Scratch): string {
  const dir = join(cacheRoot, `${spec.component}@${spec.version}`);
  const bin = join(dir, 'bin');
  const names = Object.keys(spec.binaries);
  if (names.every((name) => existsSync(join(bin, name)))) return bin;
  const started = Date.now();
  log(
    `${spec.component} ${spec.version}: building ${names.join(', ')} (cold: minutes; warm Go cache: seconds)`,
  );
  const src = join(dir, 'src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const requires = Object.entries(spec.require).map(([module, version]) => `require ${module} ${version}`);
  // `tool` lines make `go mod tidy` resolve exactly what those packages' builds need, at the pinned
  // versions (a plain `go get pkg` would upgrade the module to its latest release).
  const tools = Object.values(spec.binaries).map((pkg) => `tool ${pkg}`);
  writeFileSync(
    join(src, 'go.mod'),
    ['module scratch', 'go 1.26', ...requires, ...tools, ...(spec.replace ?? [])].join('\n'),
  );
  if (spec.noSumDb) goEnv.GONOSUMDB = spec.noSumDb;
  try {
    if (spec.buildDependenciesOnly)
      for (const [module, version] of Object.entries(spec.require)) run(src, ['get', `${module}@${version}`]);
    else run(src, ['mod', 'tidy']);
    // No symbol table or DWARF (-s -w): smaller binaries, a shorter link; nothing here is debugged.
    const ldflags = ['-ldflags', ['-s -w', spec.ldflags].filter(Boolean).join(' ')];
    // Into a temporary directory first: a build stopped halfway leaves no binary that looks complete.
    const out = join(dir, 'bin.partial');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const [name, pkg] of Object.entries(spec.binaries)) {
      run(src, ['build', '-trimpath', ...ldflags, '-o', join(out, name), pkg]);
    }
    rmSync(bin, { recursive: true, force: true });
    cpSync(out, bin, { recursive: true });
    rmSync(out, { recursive: true, force: true });
  } finally {
    delete goEnv.GONOSUMDB;
  }
  log(`${spec.component} ${spec.version}: built in ${Math.round((Date.now() - started) / 1000)} s`);
  return bin;
}

function buildEtcd(): string {
  const version = versions.etcd;
  const replace = replacesOf(upstreamGoMod('go.etcd.io/etcd/server/v3', version), () => version);
  return buildScratch({
    component: 'etcd',
    version,
    require: { 'go.etcd.io/etcd/server/v3': version },
    replace,
    binaries: { etcd: 'go.etcd.io/etcd/server/v3' },
  });
}

function buildKubernetes(): string {
  const version = versions.kubernetes;
  // k8s.io/kubernetes replaces its ~30 staging modules with ./staging/src/...; their published
  // twins are tagged v0.<minor>.<patch>.
  const staging = version.replace(/^v1\./, 'v0.');
  const [major, minor] = version.slice(1).split('.');
  const stamps = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
  ]);
  return buildScratch({
    component: 'kubernetes',
    version,
    require: { 'k8s.io/kubernetes': version },
    replace: replacesOf(upstreamGoMod('k8s.io/kubernetes', version), () => staging),
    binaries: Object.fromEntries(
      ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((cmd) => [
        cmd,
        `k8s.io/kubernetes/cmd/${cmd}`,
      ]),
    ),
    // Without the version stamps the server reports v0.0.0-master+$Format:%H$, which clients cannot parse.
    ldflags: stamps.join(' '),
  });
}

function buildKwok(): { bin: string; stages: string } {
  const version = versions.kwok;
  const bin = buildScratch({
    component: 'kwok',
    version,
    require: { 'sigs.k8s.io/kwok': version },
    replace: replacesOf(upstreamGoMod('sigs.k8s.io/kwok', version), () => version),
    binaries: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
  });
  const stages = join(cacheRoot, `kwok@${version}`, 'stages.yaml');
  if (!existsSync(stages)) {
    const { Dir } = JSON.parse(
      run(cacheRoot, ['mod', 'download', '-json', `sigs.k8s.io/kwok@${version}`]),
    ) as {
      Dir: string;
    };
    // What kwok's kustomize/stage/fast composes: node initialize and lease heartbeat, pod ready/complete/delete.
    const files = [
      'node/fast/node-initialize.yaml',
      'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
      'pod/fast/pod-ready.yaml',
      'pod/fast/pod-complete.yaml',
      'pod/fast/pod-delete.yaml',
    ];
    const text = files
      .map((file) => readFileSync(join(Dir, 'kustomize/stage', file), 'utf8'))
      .join('\n---\n');
    writeFileSync(stages, text);
  }
  return { bin, stages };
}

function buildKustomizeController(): string {
  const version = versions.kustomizeController;
  const module = 'github.com/fluxcd/kustomize-controller';
  return buildScratch({
    component: 'kustomize-controller',
    version,
    require: { [module]: version },
    replace: replacesOf(upstreamGoMod(module, version), () => version),
    binaries: { 'kustomize-controller': module },
  });
}

function buildSourceController(): string {
  const version = versions.sourceController;
  const module = 'github.com/fluxcd/source-controller';
  return buildScratch({
    component: 'source-controller',
    version,
    require: { [module]: version },
    replace: replacesOf(upstreamGoMod(module, version), () => version),
    binaries: { 'source-controller': module },
    // `go mod tidy` would also resolve its tests' github.com/fluxcd/pkg/helmtestserver, which the proxy
    // answers 403 for; some fluxcd/pkg modules are missing from the checksum database (404).
    buildDependenciesOnly: true,
    noSumDb: 'github.com/fluxcd/pkg/git/gogit',
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One build at a time per checkout: a second caller (a test run while CI's early build is still going,
 * two test runs at once) waits for the first, then finds its binaries. A lock left by a dead process is
 * taken over.
 */
function withBuildLock<T>(build: () => T): T {
  const lock = join(cacheRoot, 'build.lock');
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(existsSync(join(lock, 'pid')) ? readFileSync(join(lock, 'pid'), 'utf8') : 0);
      if (holder && !processAlive(holder)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) log(`waiting for the build of process ${holder || '(starting)'} to finish`);
      announced = true;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    }
  }
  try {
    return build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds what is missing (cold ~12+ minutes on 2 cores) and returns the binaries' paths. */
export function ensureBinaries(): Binaries {
  mkdirSync(cacheRoot, { recursive: true });
  if (!existsSync(join(cacheRoot, 'go.mod')))
    writeFileSync(join(cacheRoot, 'go.mod'), 'module kubecache\ngo 1.26\n');
  const { etcd, kubernetes, kwok, kustomizeController, sourceController } = withBuildLock(() => ({
    etcd: buildEtcd(),
    kubernetes: buildKubernetes(),
    kwok: buildKwok(),
    kustomizeController: buildKustomizeController(),
    sourceController: buildSourceController(),
  }));
  return {
    etcd: join(etcd, 'etcd'),
    kubeApiserver: join(kubernetes, 'kube-apiserver'),
    kubeControllerManager: join(kubernetes, 'kube-controller-manager'),
    kubeScheduler: join(kubernetes, 'kube-scheduler'),
    kwok: join(kwok.bin, 'kwok'),
    kwokStages: kwok.stages,
    kustomizeController: join(kustomizeController, 'kustomize-controller'),
    sourceController: join(sourceController, 'source-controller'),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const binaries = ensureBinaries();
  log(`ready in ${Math.round((Date.now() - started) / 1000)} s`);
  process.stdout.write(`${JSON.stringify(binaries, null, 2)}\n`);
}
