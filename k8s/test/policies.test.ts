import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  environments,
  fluxCluster,
  isKind,
  type K8sObject,
  kustomize,
  parseYamlObjects,
  repoRoot,
} from './lib/manifests.js';
import {
  canaryReferencesExist,
  deploymentsAreHardened,
  deploymentsHaveCanaries,
  fluxDependencies,
  imageSetterMarkers,
  noPlaintextSecrets,
  principalsExist,
} from './lib/policies.js';

const fixtureText = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const fixture = (name: string) => parseYamlObjects(fixtureText(name));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory())
      return ['node_modules', 'schemas', 'test'].includes(entry) ? [] : yamlFiles(path);
    return entry.endsWith('.yaml') ? [path] : [];
  });
}

const images = (objects: K8sObject[]) =>
  new Map<string, string>(
    objects.flatMap((o) =>
      (o.spec?.template?.spec?.containers ?? []).map(
        (c: { image: string }) => [o.metadata.name, c.image] as const,
      ),
    ),
  );

describe.each(environments)('policies in %s', (env) => {
  const cluster = fluxCluster(env);
  const everything = [...cluster.entry, ...cluster.layers.flatMap((l) => l.objects)];
  const app = kustomize(`k8s/environments/${env}/apps`);
  const services = app.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === 'soundgood');

  it('gives every Deployment of the application a Canary whose references exist', () => {
    expect(deploymentsHaveCanaries(everything)).toEqual([]);
    expect(canaryReferencesExist(app)).toEqual([]);
  });

  it('runs every service with probes, requests and limits, as non-root on a read-only filesystem', () => {
    // The services' Deployments; the functions' (namespace openfaas-fn) have the watchdog's probes and
    // are checked in functions.test.ts.
    expect(deploymentsAreHardened(services)).toEqual([]);
  });

  it('names only existing ServiceAccounts as principals, and runs every service as its own', () => {
    const configs = kustomize(`k8s/environments/${env}/configs`);
    expect(principalsExist([...app, ...configs])).toEqual([]);
  });

  it('commits no plaintext Secret', () => {
    expect(noPlaintextSecrets(everything)).toEqual([]);
  });

  it('chains the Flux Kustomizations controllers -> eventing -> configs -> migrations -> apps, acyclic and complete', () => {
    const kustomizations = cluster.layers.map((l) => l.kustomization);
    expect(fluxDependencies(kustomizations)).toEqual([]);
    const needs = Object.fromEntries(
      kustomizations.map((k) => [
        k.metadata.name,
        (k.spec.dependsOn ?? []).map((d: { name: string }) => d.name),
      ]),
    );
    expect(needs).toEqual({
      'flux-system': [],
      'infra-controllers': [],
      'infra-eventing': ['infra-controllers'],
      'infra-configs': ['infra-eventing'],
      migrations: ['infra-configs'],
      apps: ['migrations'],
    });
    for (const k of kustomizations.filter((k) => k.metadata.name !== 'flux-system')) {
      expect(k.spec, k.metadata.name).toMatchObject({ prune: true, wait: true });
      expect(k.spec.interval && k.spec.timeout, k.metadata.name).toBeTruthy();
    }
  });

  it('migrates with the same image tags the services run', () => {
    const migrations = images(kustomize(`k8s/environments/${env}/migrations`));
    for (const [deployment, image] of images(services)) {
      // The Job runs the service's -migrate image (services/Dockerfile, target migrate) at the same tag.
      expect(migrations.get(`${deployment}-migrate`), deployment).toBe(
        image?.replace(`/${deployment}:`, `/${deployment}-migrate:`),
      );
    }
  });

  it('marks every Soundgood image tag with an image policy of this cluster', () => {
    const policies = new Set(
      cluster.entry
        .filter((o) => isKind(o, 'image.toolkit.fluxcd.io/v1', 'ImagePolicy'))
        .map((o) => o.metadata.name),
    );
    const automation = cluster.entry.find((o) => o.kind === 'ImageUpdateAutomation') as K8sObject;
    expect(automation.spec.update.path).toBe(`./k8s/environments/${env}`);
    const problems = yamlFiles(join(repoRoot, 'k8s')).flatMap((file) =>
      imageSetterMarkers(relative(repoRoot, file), readFileSync(file, 'utf8'), policies),
    );
    expect(problems).toEqual([]);
    const markers = yamlFiles(join(repoRoot, `k8s/environments/${env}`))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n')
      .match(/\$imagepolicy/g);
    // Services in the apps and migrations overlays; functions (no database) in the apps overlay only.
    const functions = kustomize('k8s/functions').filter((o) => o.kind === 'Deployment').length;
    expect(functions).toBeGreaterThan(0);
    expect(markers).toHaveLength(2 * policies.size - functions);
  });

  it('injects sidecars into the broker data plane and allows its identity to deliver events (the trap)', () => {
    const namespace = everything.find(
      (o) => o.kind === 'Namespace' && o.metadata.name === 'knative-eventing',
    );
    expect(namespace?.metadata.labels?.['istio-injection']).toBe('enabled');
    const eventing = everything.find((o) => o.kind === 'KnativeEventing') as K8sObject;
    expect(eventing.spec.config['config-features'].istio).toBe('enabled');
    const dispatcher = 'cluster.local/ns/knative-eventing/sa/knative-kafka-broker-data-plane';
    for (const policy of app.filter((o) => o.kind === 'AuthorizationPolicy')) {
      const rule = policy.spec.rules.find((r: { from: { source: { principals: string[] } }[] }) =>
        r.from[0]?.source.principals.includes(dispatcher),
      );
      expect(rule?.to[0].operation, policy.metadata.name).toEqual({ methods: ['POST'], paths: ['/events'] });
    }
    const strict = app.find((o) => o.kind === 'PeerAuthentication' && o.metadata.name === 'default');
    expect(strict?.spec).toEqual({ mtls: { mode: 'STRICT' } });
  });
});

describe('the policy checks catch broken manifests', () => {
  it('reports a Deployment without a Canary and a Canary whose target is missing', () => {
    const objects = fixture('canary-broken.yaml');
    expect(deploymentsHaveCanaries(objects)).toEqual(['Deployment audit has no Canary']);
    expect(canaryReferencesExist(objects)).toEqual([
      'Canary ledger: target Deployment ledger does not exist',
      'Canary ledger: MetricTemplate event-handling-success-rate does not exist',
    ]);
  });

  it('reports a Deployment without probes, resources or a non-root read-only container', () => {
    expect(deploymentsAreHardened(fixture('canary-broken.yaml'))).toEqual([
      'Deployment audit: pod does not require runAsNonRoot',
      'Deployment audit: maxUnavailable is not 0',
      'Deployment audit: no minReadySeconds',
      'Deployment audit: no progressDeadlineSeconds',
      'Deployment audit: container app has no readiness probe on /readyz',
      'Deployment audit: container app has no liveness probe on /healthz',
      'Deployment audit: container app requests no cpu',
      'Deployment audit: container app requests no memory',
      'Deployment audit: container app has no memory limit',
      'Deployment audit: container app root filesystem is writable',
      'Deployment audit: container app allows privilege escalation',
      'Deployment audit: container app keeps capabilities',
      'Deployment audit: container app has no port http-metrics',
    ]);
  });

  it('reports a principal whose ServiceAccount is missing and a Deployment without its own account', () => {
    const objects = [
      ...kustomize('k8s/environments/production/apps'),
      ...kustomize('k8s/environments/production/configs'),
    ];
    const withoutAccount = objects.filter(
      (o) => !(o.kind === 'ServiceAccount' && o.metadata.name === 'billing'),
    );
    expect(principalsExist(withoutAccount)).toEqual([
      'AuthorizationPolicy kafka-broker-receiver: ServiceAccount billing does not exist',
      'Deployment billing does not run as its own ServiceAccount',
    ]);
  });

  it('reports a plaintext Secret and accepts a SOPS-encrypted one', () => {
    expect(noPlaintextSecrets(fixture('secrets.yaml'))).toEqual([
      'Secret payment-provider is not SOPS-encrypted',
    ]);
  });

  it('reports a dependency cycle and a dependency on a missing Kustomization', () => {
    expect(fluxDependencies(fixture('flux-broken.yaml'))).toEqual([
      'Kustomization apps depends on missing databases',
      'dependency cycle: infra-configs -> migrations -> apps -> infra-configs',
    ]);
  });

  it('reports an image tag without a setter marker, a pinned base image and an unknown policy', () => {
    expect(
      imageSetterMarkers('images-broken.yaml', fixtureText('images-broken.yaml'), new Set(['rentals'])),
    ).toEqual([
      'images-broken.yaml:3: ghcr.io/soundgood/rentals has no newTag with an $imagepolicy marker',
      'images-broken.yaml:5: ImagePolicy billing does not exist',
      "images-broken.yaml:9: image ghcr.io/soundgood/rentals:0.1.0 pins a tag outside an environment's images list",
    ]);
  });
});
