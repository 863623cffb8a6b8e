// A real Kubernetes control plane for the tests, the way envtest runs one: etcd and kube-apiserver, plus
// kube-controller-manager, kube-scheduler and kwok (one fake node), so Deployments, ReplicaSets, Pods and
// Jobs are driven by their real controllers and become ready without a kubelet.
//
// The binaries come from build.ts (.cache/kube/<component>@<version>/bin). Every run lives in
// .cache/kube/run: certificates (openssl), etcd's data, kubeconfigs, and one log per component in
// .cache/kube/run/logs/. Ports: etcd 12379/12380, kube-apiserver 16443, controller-manager 16257,
// scheduler 16259, kustomize-controller 16080/16081, source-controller 16082/16083 and its artifact server
// 16090, the Git server of the tests 16700 (all moved by SOUNDGOOD_KUBE_PORT_OFFSET).
//
// Processes are started detached and recorded in .cache/kube/run/state.json, so that whichever process
// stops the cluster (vitest's globalSetup teardown, a test file resetting it) finds them by PID.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join, resolve } from 'node:path';
import { type Binaries, cacheRoot, ensureBinaries } from './build.js';

export const runDir = join(cacheRoot, 'run');
const pki = join(runDir, 'pki');
export const logDir = join(runDir, 'logs');
const stateFile = join(runDir, 'state.json');
export const crdDir = resolve(import.meta.dirname, '../../crds');

// SOUNDGOOD_KUBE_PORT_OFFSET moves every port by the same amount, so that two checkouts on one machine
// (a CI run and a developer's) can run their clusters at once.
const offset = Number(process.env.SOUNDGOOD_KUBE_PORT_OFFSET ?? 0);
if (!Number.isInteger(offset) || offset < 0 || offset > 10_000)
  throw new Error(`SOUNDGOOD_KUBE_PORT_OFFSET must be a whole number from 0 to 10000, not ${offset}`);
export const ports = {
  etcdClient: 12379 + offset,
  etcdPeer: 12380 + offset,
  apiserver: 16443 + offset,
  controllerManager: 16257 + offset,
  scheduler: 16259 + offset,
  kustomizeControllerMetrics: 16080 + offset,
  kustomizeControllerHealth: 16081 + offset,
  sourceControllerMetrics: 16082 + offset,
  sourceControllerHealth: 16083 + offset,
  /** Where source-controller serves the artifacts it stores (kustomize-controller downloads them). */
  sourceControllerStorage: 16090 + offset,
  /** git-server.ts: the repository source-controller clones. */
  git: 16700 + offset,
};
export const server = `https://127.0.0.1:${ports.apiserver}`;
/** Admin (system:masters) kubeconfig of the running cluster. */
export const kubeconfig = join(runDir, 'admin.kubeconfig');
export const fakeNode = 'kwok-node-0';

type Component =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'kustomize-controller'
  | 'source-controller';

interface State {
  pids: Partial<Record<Component, number>>;
}

function log(message: string): void {
  process.stderr.write(`kube cluster: ${message}\n`);
}

function readState(): State {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as State) : { pids: {} };
}

function writeState(state: State): void {
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
}

function alive(pid: number): boolean {
  try {
    // A zombie (exited, not yet reaped by a parent that is still running) counts as gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms (logs: ${logDir})`);
    await sleep(250);
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and the certificates each component presents (P-256 keys: fast to make). */
function makeCertificates(): void {
  mkdirSync(pki, { recursive: true });
  const key = (name: string) =>
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  key('ca');
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=soundgood-test-ca',
    '-days',
    '30',
    '-out',
    'ca.crt',
  ]);
  const issue = (name: string, subject: string, extensions: string) => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    writeFileSync(join(pki, `${name}.ext`), extensions);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  };
  const client = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n';
  issue(
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
      'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n',
  );
  issue('admin', '/O=system:masters/CN=soundgood-test-admin', client);
  issue('controller-manager', '/CN=system:kube-controller-manager', client);
  issue('scheduler', '/CN=system:kube-scheduler', client);
  // Service-account tokens: the API server verifies with the public key, the token controller signs.
  key('sa');
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function writeKubeconfig(file: string, user: string): void {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority': join(pki, 'ca.crt') } }],
      users: [
        {
          name: user,
          user: { 'client-certificate': join(pki, `${user}.crt`), 'client-key': join(pki, `${user}.key`) },
        },
      ],
      contexts: [{ name: 'test', context: { cluster: 'test', user } }],
      'current-context': 'test',
    }),
  );
}

function start(component: Component, binary: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const out = openSync(join(logDir, `${component}.log`), 'a');
  const child = spawn(binary, args, {
    cwd: runDir,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  child.unref();
  if (!child.pid) throw new Error(`${component} did not start (${binary})`);
  const state = readState();
  state.pids[component] = child.pid;
  writeState(state);
  return child.pid;
}

/** Stops one component by its recorded PID: SIGTERM, then SIGKILL after 10 s. */
export async function stopComponent(component: Component): Promise<void> {
  const state = readState();
  const pid = state.pids[component];
  if (pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(100);
  }
  delete state.pids[component];
  if (existsSync(runDir)) writeState(state);
}

function request(url: string, tls = true): Promise<{ status: number; body: string }> {
  const options = tls
    ? {
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        // The controllers' own health endpoints present self-signed certificates.
        rejectUnauthorized: url.startsWith(server),
      }
    : {};
  return new Promise((done, fail) => {
    const req = (url.startsWith('https') ? httpsGet : httpGet)(url, options, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

async function waitHealthy(component: Component, url: string, timeoutMs: number): Promise<void> {
  const pid = readState().pids[component];
  await until(component, timeoutMs, async () => {
    if (pid && !alive(pid)) throw new Error(`${component} exited; see ${join(logDir, `${component}.log`)}`);
    const { status } = await request(url, url.startsWith('https'));
    return status === 200 ? true : undefined;
  }).catch((error: Error) => {
    if (pid && !alive(pid))
      throw new Error(`${component} exited during start; see ${join(logDir, `${component}.log`)}`);
    throw error;
  });
}

/** kubectl against the running cluster (admin). Throws with the server's message on failure. */
export function kubectl(args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Like kubectl(), but returns the exit status and stderr instead of throwing. */
export function tryKubectl(args: string[], input?: string): { ok: boolean; stdout: string; stderr: string } {
  try {
    return { ok: true, stdout: kubectl(args, input), stderr: '' };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, stdout: String(failed.stdout ?? ''), stderr: String(failed.stderr ?? '') };
  }
}

let binaries: Binaries | undefined;

/** Builds what is missing, then starts a control plane on an empty etcd with one ready fake node. */
export async function startCluster(): Promise<void> {
  await stopCluster();
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  makeCertificates();
  writeKubeconfig(kubeconfig, 'admin');
  writeKubeconfig(join(runDir, 'controller-manager.kubeconfig'), 'controller-manager');
  writeKubeconfig(join(runDir, 'scheduler.kubeconfig'), 'scheduler');
  await launch();
}

/** Starts every component on the etcd data directory as it is, with the certificates of this run. */
async function launch(): Promise<void> {
  const started = Date.now();
  binaries ??= ensureBinaries();

  const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  start('etcd', binaries.etcd, [
    '--name=test',
    `--data-dir=${etcdData}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=test=${peerUrl}`,
    // Throwaway data: no fsync, which is most of etcd's latency on a shared disk.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  await waitHealthy('etcd', `${etcdUrl}/health`, 30_000);

  start('kube-apiserver', binaries.kubeApiserver, [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--client-ca-file=${join(pki, 'ca.crt')}`,
    '--authorization-mode=Node,RBAC',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    '--profiling=false',
  ]);
  await waitHealthy('kube-apiserver', `${server}/readyz`, 120_000);

  start('kube-controller-manager', binaries.kubeControllerManager, [
    `--kubeconfig=${join(runDir, 'controller-manager.kubeconfig')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.controllerManager}`,
    '--leader-elect=false',
    '--use-service-account-credentials',
    `--service-account-private-key-file=${join(pki, 'sa.key')}`,
    `--root-ca-file=${join(pki, 'ca.crt')}`,
    // Everything that runs without a cloud provider, node IPAM or volumes.
    '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-persistentvolume-binder,-persistentvolume-expander,-attachdetach',
    '--profiling=false',
  ]);
  start('kube-scheduler', binaries.kubeScheduler, [
    `--kubeconfig=${join(runDir, 'scheduler.kubeconfig')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.scheduler}`,
    '--leader-elect=false',
    '--profiling=false',
  ]);
  startKwok(binaries);
  await Promise.all([
    waitHealthy('kube-controller-manager', `https://127.0.0.1:${ports.controllerManager}/healthz`, 60_000),
    waitHealthy('kube-scheduler', `https://127.0.0.1:${ports.scheduler}/healthz`, 60_000),
  ]);
  kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(nodeObject()));
  kubectl(['wait', '--for=condition=Ready', `node/${fakeNode}`, '--timeout=60s']);
  // Pods need their namespace's default ServiceAccount, made by the controller-manager.
  kubectl(['wait', '--for=create', 'serviceaccount/default', '-n', 'default', '--timeout=60s']);
  log(`control plane ready in ${Math.round((Date.now() - started) / 1000)} s (logs: ${logDir})`);
}

function startKwok(bins: Binaries): void {
  // kwok reads its options and the Stage objects (what to do with nodes and pods) from one file; the
  // stages are the ones kwok's kustomize/stage ships. These parallelism options have no default in a file.
  const config = join(runDir, 'kwok.yaml');
  writeFileSync(
    config,
    [
      'apiVersion: config.kwok.x-k8s.io/v1alpha1',
      'kind: KwokConfiguration',
      'options:',
      '  podPlayStageParallelism: 4',
      '  nodePlayStageParallelism: 2',
      '  nodeLeaseParallelism: 2',
      '  podsOnNodeSyncParallelism: 2',
      '---',
      readFileSync(bins.kwokStages, 'utf8'),
    ].join('\n'),
  );
  start('kwok', bins.kwok, [
    `--kubeconfig=${kubeconfig}`,
    `--config=${config}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--cidr=10.244.0.0/16',
    '--node-ip=10.0.0.1',
    '--node-lease-duration-seconds=40',
  ]);
}

/** One node that kwok plays; large enough for every pod of the repository's manifests. */
function nodeObject(): object {
  const resources = { cpu: '64', memory: '256Gi', pods: '500', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: fakeNode,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': fakeNode,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': 'zone-a',
        'topology.kubernetes.io/region': 'region-a',
        type: 'kwok',
      },
    },
    status: { capacity: resources, allocatable: resources },
  };
}

/** Starts Flux's kustomize-controller against the cluster (all namespaces, no leader election). */
export async function startKustomizeController(extraArgs: string[] = []): Promise<void> {
  binaries ??= ensureBinaries();
  start(
    'kustomize-controller',
    binaries.kustomizeController,
    [
      '--watch-all-namespaces',
      '--enable-leader-election=false',
      `--metrics-addr=127.0.0.1:${ports.kustomizeControllerMetrics}`,
      `--health-addr=127.0.0.1:${ports.kustomizeControllerHealth}`,
      '--log-encoding=json',
      ...extraArgs,
    ],
    { KUBECONFIG: kubeconfig, RUNTIME_NAMESPACE: 'flux-system' },
  );
  await waitHealthy(
    'kustomize-controller',
    `http://127.0.0.1:${ports.kustomizeControllerHealth}/readyz`,
    60_000,
  );
}

/**
 * Starts Flux's source-controller against the cluster: it clones GitRepositories, stores each revision
 * as a tar.gz under the run directory and serves it on loopback for kustomize-controller.
 */
export async function startSourceController(extraArgs: string[] = []): Promise<void> {
  binaries ??= ensureBinaries();
  const storage = join(runDir, 'source-controller', 'storage');
  const temp = join(runDir, 'source-controller', 'tmp');
  mkdirSync(storage, { recursive: true });
  mkdirSync(temp, { recursive: true });
  start(
    'source-controller',
    binaries.sourceController,
    [
      '--watch-all-namespaces',
      '--enable-leader-election=false',
      `--metrics-addr=127.0.0.1:${ports.sourceControllerMetrics}`,
      `--health-addr=127.0.0.1:${ports.sourceControllerHealth}`,
      `--storage-path=${storage}`,
      `--storage-addr=127.0.0.1:${ports.sourceControllerStorage}`,
      `--storage-adv-addr=127.0.0.1:${ports.sourceControllerStorage}`,
      '--log-encoding=json',
      ...extraArgs,
    ],
    // Its clones go to TMPDIR; keep them in the run directory too.
    { KUBECONFIG: kubeconfig, RUNTIME_NAMESPACE: 'flux-system', TMPDIR: temp },
  );
  await waitHealthy('source-controller', `http://127.0.0.1:${ports.sourceControllerHealth}/readyz`, 60_000);
}

/** Stops every recorded component, controllers first, etcd last. */
export async function stopCluster(): Promise<void> {
  if (!existsSync(stateFile)) return;
  for (const component of [
    'kustomize-controller',
    'source-controller',
    'kwok',
    'kube-scheduler',
    'kube-controller-manager',
    'kube-apiserver',
    'etcd',
  ] as const) {
    await stopComponent(component);
  }
}

const etcdData = join(runDir, 'etcd');
const crdSnapshot = join(runDir, 'etcd-with-crds');

/**
 * Makes the running cluster's state (normally: empty but for the CRDs and the node) what resetCluster()
 * returns to: the control plane is stopped, etcd's data directory copied, and everything started again.
 * Installing the 78 CRDs takes half a minute on two cores; copying them back takes none.
 */
export async function snapshotCluster(): Promise<void> {
  await stopCluster();
  rmSync(crdSnapshot, { recursive: true, force: true });
  cpSync(etcdData, crdSnapshot, { recursive: true });
  await launch();
}

/** The cluster as snapshotCluster() left it (the CRDs, one ready node, nothing else): what each group of tests starts from. */
export async function resetCluster(): Promise<void> {
  if (!existsSync(crdSnapshot)) {
    await startCluster();
    installCrds();
    await snapshotCluster();
    return;
  }
  await stopCluster();
  rmSync(etcdData, { recursive: true, force: true });
  cpSync(crdSnapshot, etcdData, { recursive: true });
  await launch();
}

/** Server-side applies every CRD under k8s/crds and waits until the API server serves them. */
export function installCrds(): void {
  if (!existsSync(crdDir)) throw new Error(`no vendored CRDs at ${crdDir}`);
  kubectl(['apply', '--server-side', '--recursive', '-f', crdDir]);
  kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=120s']);
}
