import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  environments,
  fluxCluster,
  type K8sObject,
  kustomize,
  kustomizeEntryPoints,
  parseYamlObjects,
} from './lib/manifests.js';
import { loadSchemas } from './lib/schemas.js';

const schemas = loadSchemas();

function problems(objects: K8sObject[]): string[] {
  return objects.flatMap((o) =>
    schemas.validate(o).map((p) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}: ${p}`),
  );
}

function fixture(name: string): K8sObject[] {
  return parseYamlObjects(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));
}

describe('upstream schemas', () => {
  it.each(kustomizeEntryPoints())('every object built from %s validates against its pinned schema', (dir) => {
    const objects = kustomize(dir);
    expect(objects.length).toBeGreaterThan(0);
    expect(problems(objects)).toEqual([]);
  });

  it.each(environments)(
    'every object Flux applies in %s validates, following each Kustomization path',
    (env) => {
      const { entry, layers } = fluxCluster(env);
      expect(problems([...entry, ...layers.flatMap((l) => l.objects)])).toEqual([]);
    },
  );

  it('rejects an object of a kind that has no vendored schema', () => {
    expect(problems(fixture('unknown-kind.yaml'))).toEqual([
      'Rollout soundgood/rentals: no schema for argoproj.io/v1alpha1 Rollout',
    ]);
  });

  it('rejects a misspelt field and a wrongly typed one', () => {
    const found = problems(fixture('schema-invalid.yaml'));
    expect(found).toContain('Canary soundgood/rentals: /spec/analysis: unknown field stepWieght');
    // without stepWeight the analysis matches none of Flagger's three shapes (iterations, stepWeight, stepWeights)
    expect(found).toContain(
      'Canary soundgood/rentals: /spec/analysis: must match exactly one schema in oneOf',
    );
    expect(found).toContain(
      'Deployment soundgood/rentals: /spec/template/spec/containers/0/ports/0/containerPort: must be integer',
    );
    expect(found).toContain('Cluster soundgood/rentals-db: /spec/bootstrap/initdb: unknown field databse');
    expect(found).toContain(
      'Kafka kafka/soundgood: /spec/kafka/listeners/0/type: must be equal to one of the allowed values',
    );
  });

  it('checks the whole spec of every CRD kind: no subtree is left unchecked', () => {
    const crdDir = join(import.meta.dirname, '../schemas/crds');
    const trimmed = readdirSync(crdDir).filter((f) =>
      readFileSync(join(crdDir, f), 'utf8').includes('x-soundgood-collapsed'),
    );
    expect(trimmed).toEqual([]);
    const kafka = (authentication: unknown): K8sObject => ({
      apiVersion: 'kafka.strimzi.io/v1',
      kind: 'Kafka',
      metadata: { name: 'k', namespace: 'kafka' },
      spec: {
        kafka: { listeners: [{ name: 'tls', port: 9093, type: 'internal', tls: true, authentication }] },
      },
    });
    // deep in spec.kafka (once unchecked): an unknown field is found ...
    expect(schemas.validate(kafka({ type: 'tls', bogus: true }))).toEqual([
      '/spec/kafka/listeners/0/authentication: unknown field bogus',
    ]);
    // ... while a oneOf branch naming one field does not forbid the others (`name` beside `value` here)
    const listener = { name: 'plain', port: 9092, type: 'internal', tls: false };
    const env = [{ name: 'A', value: 'a' }];
    const spec = { kafka: { listeners: [listener], template: { kafkaContainer: { env } } } };
    expect(schemas.validate({ ...kafka({ type: 'tls' }), spec })).toEqual([]);
  });

  it('lists every vendored schema file in VERSIONS.md with its source', () => {
    const versions = readFileSync(join(import.meta.dirname, '../schemas/VERSIONS.md'), 'utf8');
    const unlisted = schemas.kinds().filter((kind) => !versions.includes(`\`${kind}\``));
    expect(unlisted).toEqual([]);
  });
});
