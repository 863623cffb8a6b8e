import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { environments, kustomize } from '../lib/manifests.js';
import {
  kubectl,
  ports,
  resetCluster,
  startKustomizeController,
  startSourceController,
  stopComponent,
} from './cluster.js';
import { type GitServer, serveGitRepository } from './git-server.js';
import { dependencies } from './layers.js';
import { markHelmObjectsReady } from './stand-ins.js';

// Flux's real source-controller and kustomize-controller reconcile flux/clusters/<env> on an empty
// cluster, as after `flux bootstrap`: source-controller clones the working tree's flux/ and k8s/ from a
// Git repository served over HTTP on loopback (git-server.ts), kustomize-controller applies from its
// artifact, and the controller-manager, scheduler and kwok make the Deployments and Jobs it applies
// ready, so `wait: true` and `dependsOn` are what they are in production. Stand-ins (stand-ins.ts):
// HelmRepository/HelmRelease readiness, the sops-age Secret.
interface Kustomization {
  metadata: { name: string };
  status?: {
    lastAppliedRevision?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function kustomizations(): Kustomization[] {
  return JSON.parse(
    kubectl(['get', 'kustomizations.kustomize.toolkit.fluxcd.io', '-n', 'flux-system', '-o', 'json']),
  ).items as Kustomization[];
}

const readyCondition = (k: Kustomization) => k.status?.conditions?.find((c) => c.type === 'Ready');

describe.each(environments)('Flux reconciles flux/clusters/%s', (env) => {
  let repository: GitServer;
  let stopHelmStandIn: () => Promise<void>;
  let started = 0;
  /** When each Kustomization was first seen Ready at the served revision (ms since the controller started). */
  const readyAt = new Map<string, number>();

  beforeAll(async () => {
    await resetCluster();
    repository = await serveGitRepository(ports.git);
    const apply = (objects: object[]) =>
      kubectl(['apply', '--server-side', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
    apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } }]);
    // Stand-in for the Secret users create before bootstrap (docs/cluster.md). Nothing in the repository
    // is encrypted, so it holds no key; Flux fails `secrets "sops-age" not found` without it.
    apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sops-age', namespace: 'flux-system' } }]);
    // What `flux bootstrap` applies: the GitRepository (pointing at the served repository) and the root
    // Kustomization, from the served commit.
    kubectl(['apply', '--server-side', '-k', `${repository.tree}/flux/clusters/${env}/flux-system`]);
    stopHelmStandIn = markHelmObjectsReady();
    await startSourceController();
    // Dependencies are re-checked every 2 s instead of 30 s: the same logic, a shorter test.
    await startKustomizeController(['--requeue-dependency=2s']);
    started = Date.now();
  });

  afterAll(async () => {
    await stopHelmStandIn?.();
    await stopComponent('kustomize-controller');
    await stopComponent('source-controller');
    await repository?.close();
  });

  it('source-controller clones the served commit: the GitRepository is Ready with its revision', async () => {
    interface GitRepository {
      status?: {
        artifact?: { revision: string; url: string };
        conditions?: { type: string; status: string; reason: string; message: string }[];
      };
    }
    const deadline = Date.now() + 60_000;
    let source: GitRepository = {};
    let ready: { status: string; reason: string; message: string } | undefined;
    do {
      source = JSON.parse(
        kubectl([
          'get',
          'gitrepositories.source.toolkit.fluxcd.io',
          'flux-system',
          '-n',
          'flux-system',
          '-o',
          'json',
        ]),
      ) as GitRepository;
      ready = source.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') await sleep(500);
    } while (ready?.status !== 'True' && Date.now() < deadline);
    expect(ready?.status, `${ready?.reason}: ${ready?.message}`).toBe('True');
    expect(source.status?.artifact?.revision).toBe(repository.revision);
    // The artifact is source-controller's own, served where kustomize-controller fetches it.
    expect(source.status?.artifact?.url).toMatch(
      new RegExp(
        `^http://127\\.0\\.0\\.1:${ports.sourceControllerStorage}/gitrepository/flux-system/flux-system/`,
      ),
    );
    // It was cloned over smart HTTP from the served repository.
    expect(repository.requests).toContain('GET /soundgood.git/info/refs?service=git-upload-pack 200');
    expect(repository.requests.some((r) => r.startsWith('POST /soundgood.git/git-upload-pack 200'))).toBe(
      true,
    );
  });

  it('brings every Kustomization to Ready, each only after everything it dependsOn', async () => {
    const expected = dependencies(env);
    const deadline = Date.now() + 240_000;
    let last: Kustomization[] = [];
    while (readyAt.size < expected.size && Date.now() < deadline) {
      last = kustomizations();
      for (const k of last) {
        const ready = readyCondition(k);
        if (
          ready?.status === 'True' &&
          k.status?.lastAppliedRevision === repository.revision &&
          !readyAt.has(k.metadata.name)
        ) {
          readyAt.set(k.metadata.name, Date.now() - started);
        }
      }
      await sleep(500);
    }
    const state = last.map(
      (k) => `${k.metadata.name}: ${readyCondition(k)?.reason} ${readyCondition(k)?.message}`,
    );
    expect([...readyAt.keys()].sort(), state.join('\n')).toEqual([...expected.keys()].sort());
    for (const [name, dependsOn] of expected) {
      for (const dependency of dependsOn) {
        expect(readyAt.get(dependency), `${dependency} before ${name}`).toBeLessThanOrEqual(
          readyAt.get(name) as number,
        );
      }
    }
    const timeline = [...readyAt]
      .sort((a, b) => a[1] - b[1])
      .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`);
    process.stderr.write(`${env}: Ready after the controller started: ${timeline.join(', ')}\n`);
  });

  it('ran what it applied: Deployments scaled by their HPAs and available on the kwok node, migration Jobs complete', async () => {
    interface Deployment {
      metadata: { namespace: string; name: string };
      spec: { replicas: number };
      status: { availableReplicas?: number };
    }
    // The services' Deployments leave replicas to their HPAs: Flux sees them healthy at the default 1,
    // then the HPA controller (every 15 s; raising to minReplicas needs no metrics) scales them. Wait for it.
    const hpas = JSON.parse(kubectl(['get', 'hpa', '-A', '-o', 'json'])).items as {
      metadata: { namespace: string };
      spec: { minReplicas: number; scaleTargetRef: { name: string } };
    }[];
    expect(hpas.length).toBeGreaterThan(0);
    const minimum = (d: Deployment) =>
      hpas.find(
        (h) =>
          h.metadata.namespace === d.metadata.namespace && h.spec.scaleTargetRef.name === d.metadata.name,
      )?.spec.minReplicas ?? 1;
    const deadline = Date.now() + 120_000;
    let deployments: Deployment[] = [];
    let pending: string[] = [];
    do {
      deployments = JSON.parse(kubectl(['get', 'deployments', '-A', '-o', 'json'])).items as Deployment[];
      pending = deployments
        .filter((d) => d.spec.replicas < minimum(d) || (d.status.availableReplicas ?? 0) !== d.spec.replicas)
        .map(
          (d) =>
            `${d.metadata.name}: ${d.status.availableReplicas ?? 0}/${d.spec.replicas} available, HPA minimum ${minimum(d)}`,
        );
      if (pending.length > 0) await sleep(1000);
    } while (pending.length > 0 && Date.now() < deadline);
    expect(pending).toEqual([]);
    expect(deployments.length).toBeGreaterThan(5);
    const jobs = JSON.parse(kubectl(['get', 'jobs', '-A', '-o', 'json'])).items as {
      metadata: { name: string };
      status: { succeeded?: number };
    }[];
    expect(jobs.length).toBe(
      kustomize(`k8s/environments/${env}/migrations`).filter((o) => o.kind === 'Job').length,
    );
    for (const job of jobs) expect(job.status.succeeded ?? 0, job.metadata.name).toBeGreaterThanOrEqual(1);
    const pods = kubectl([
      'get',
      'pods',
      '-A',
      '-o',
      'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}',
    ])
      .trim()
      .split('\n');
    expect(new Set(pods)).toEqual(new Set(['kwok-node-0']));
  });
});
