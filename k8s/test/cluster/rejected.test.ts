import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type K8sObject, kustomize, parseYamlObjects } from '../lib/manifests.js';
import { kubectl, tryKubectl } from './cluster.js';

// What only the API server rejects: Kubernetes' own validation and the CRDs' CEL rules, on objects
// that are well-formed and of known kinds. Runs on the cluster globalSetup started (CRDs installed).
const namespace = 'rejected-cases';
const reasonKey = 'test.soundgood.dev/rejected-because';
const cases = parseYamlObjects(
  readFileSync(join(import.meta.dirname, '../fixtures/cluster-rejected.yaml'), 'utf8'),
);

const dryRunApply = (object: object) =>
  tryKubectl(['apply', '--server-side', '--dry-run=server', '-n', namespace, '-f', '-'], stringify(object));

beforeAll(() => {
  kubectl(
    ['apply', '--server-side', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
  );
});

describe('the API server rejects what offline checks let through', () => {
  it('has the cases of the fixture', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases.map((object) => [`${object.kind} ${object.metadata.name}`, object] as const))(
    'rejects %s with its reason',
    (_, object) => {
      const reason = object.metadata.annotations?.[reasonKey];
      expect(reason, `${reasonKey} annotation`).toBeTruthy();
      const result = dryRunApply(object);
      expect(result.ok, `accepted: ${result.stdout}`).toBe(false);
      expect(result.stderr).toContain(reason);
    },
  );

  it("accepts the repository's own objects of those kinds: the rejections are not blanket refusals", () => {
    const valid = kustomize('k8s/environments/staging/apps').filter((object) =>
      [
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'NetworkPolicy',
        'AuthorizationPolicy',
      ].includes(object.kind),
    );
    expect(valid.length).toBeGreaterThan(0);
    for (const object of valid) {
      const { namespace: _, ...metadata } = object.metadata;
      const result = dryRunApply({ ...object, metadata });
      expect(result.ok, `${object.kind} ${object.metadata.name}: ${result.stderr}`).toBe(true);
    }
  });
});

describe('immutable fields', () => {
  it('refuses a new image in an existing Job: why the migrations layer has force: true', () => {
    const job = kustomize('k8s/environments/staging/migrations').find((object) => object.kind === 'Job');
    if (!job) throw new Error('no migration Job in k8s/environments/staging/migrations');
    const { namespace: _, ...metadata } = job.metadata;
    const created: K8sObject = { ...job, metadata: { ...metadata, name: 'immutable-job' } };
    kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], stringify(created));
    const bumped = structuredClone(created);
    bumped.spec.template.spec.containers[0].image = `${String(bumped.spec.template.spec.containers[0].image).split(':')[0]}:9.9.9`;
    const result = dryRunApply(bumped);
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain('field is immutable');
  });
});
