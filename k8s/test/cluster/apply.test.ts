import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { environments, type K8sObject } from '../lib/manifests.js';
import { kubectl, resetCluster, tryKubectl } from './cluster.js';
import { layersInOrder } from './layers.js';

// Every Flux layer of each environment, server-side applied for real on an empty cluster with the
// vendored CRDs, in the order Flux reaches them: the API server's defaulting, validation, CEL rules and
// CRD schemas decide, as they will in production. Within a layer, Namespaces go first (as Flux does).
const toYaml = (objects: K8sObject[]) => objects.map((o) => stringify(o)).join('---\n');
const isNamespace = (o: K8sObject) => o.apiVersion === 'v1' && o.kind === 'Namespace';

function serverSideApply(objects: K8sObject[]): string[] {
  if (objects.length === 0) return [];
  const result = tryKubectl(
    ['apply', '--server-side', '--field-manager=soundgood-test', '-f', '-'],
    toYaml(objects),
  );
  if (!result.ok) throw new Error(`the API server refused:\n${result.stderr}`);
  return result.stdout.trim().split('\n');
}

describe.each(environments)('%s: every Flux layer server-side applied in dependsOn order', (env) => {
  beforeAll(async () => {
    await resetCluster();
    // As flux/bootstrap.sh does before `flux bootstrap` installs Flux into it.
    serverSideApply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } }]);
  });

  for (const { kustomization, objects } of layersInOrder(env)) {
    it(`${kustomization.metadata.name} (${kustomization.spec.path}) is stored as written`, () => {
      const applied = [
        ...serverSideApply(objects.filter(isNamespace)),
        ...serverSideApply(objects.filter((o) => !isNamespace(o))),
      ];
      expect(applied).toHaveLength(objects.length);
      const read = JSON.parse(kubectl(['get', '-f', '-', '-o', 'json'], toYaml(objects)));
      const stored = (read.kind === 'List' ? read.items : [read]) as K8sObject[];
      expect(stored.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort()).toEqual(
        objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(),
      );
    });
  }

  it('stored what the server adds: defaults, allocated cluster IPs, CRD defaults', () => {
    const deployments = JSON.parse(kubectl(['get', 'deployments', '-n', 'soundgood', '-o', 'json']))
      .items as K8sObject[];
    expect(deployments.length).toBeGreaterThan(0);
    for (const d of deployments) {
      for (const c of d.spec.template.spec.containers) {
        expect(c.terminationMessagePolicy, `${d.metadata.name}/${c.name}`).toBe('File');
        expect(c.imagePullPolicy, `${d.metadata.name}/${c.name}`).toBe('IfNotPresent');
      }
    }
    const services = JSON.parse(kubectl(['get', 'services', '-n', 'soundgood', '-o', 'json']))
      .items as K8sObject[];
    for (const s of services) expect(s.spec.clusterIP, s.metadata.name).toMatch(/^10\.96\./);
    // kustomize.toolkit.fluxcd.io/v1 defaults spec.force to false through the CRD's schema.
    const force = kubectl([
      'get',
      'kustomization',
      'flux-system',
      '-n',
      'flux-system',
      '-o',
      'jsonpath={.spec.force}',
    ]);
    expect(force).toBe('false');
  });

  it('kept the EventPolicies and the producers’ projected broker tokens as written (no field pruned by a structural schema)', () => {
    // The EventPolicy CRD's filters are schemaless objects (x-kubernetes-preserve-unknown-fields): what
    // a typo there would lose, or a pruned field would open, only the server shows (docs/security.md, Events).
    const written = layersInOrder(env).flatMap((l) => l.objects);
    const policies = written.filter((o) => o.kind === 'EventPolicy');
    expect(policies.length).toBeGreaterThan(0);
    const stored = JSON.parse(
      kubectl(['get', 'eventpolicies.eventing.knative.dev', '-n', 'soundgood', '-o', 'json']),
    ).items as K8sObject[];
    for (const policy of policies)
      expect(
        stored.find((o) => o.metadata.name === policy.metadata.name)?.spec,
        policy.metadata.name,
      ).toEqual(policy.spec);
    // Projected volumes that carry a ServiceAccount token (the broker's audience), in any namespace.
    const tokens = (d: K8sObject) =>
      (d.spec.template.spec.volumes ?? []).filter(
        (v: { projected?: { sources: { serviceAccountToken?: unknown }[] } }) =>
          v.projected?.sources.some((s) => s.serviceAccountToken),
      );
    const producers = written.filter((o) => o.kind === 'Deployment' && tokens(o).length > 0);
    expect(producers.length).toBeGreaterThan(0);
    for (const d of producers) {
      const read = JSON.parse(
        kubectl([
          'get',
          'deployment',
          d.metadata.name,
          '-n',
          d.metadata.namespace ?? 'soundgood',
          '-o',
          'json',
        ]),
      );
      const [volume] = tokens(read);
      expect(volume.projected.sources, d.metadata.name).toEqual(tokens(d)[0].projected.sources);
    }
  });
});
