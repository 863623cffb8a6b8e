import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CrdDocument,
  generateSchemas,
  readSources,
  schemaDir,
  vendoredCrds,
} from '../scripts/vendor-crds.js';
import { environments, fluxCluster, type K8sObject } from './lib/manifests.js';

/** Files of k8s/schemas/crds that differ from, or are missing in, what the generator writes. */
function drift(generated: Map<string, string>): string[] {
  const onDisk = readdirSync(schemaDir);
  return [
    ...onDisk.filter((f) => !generated.has(f)).map((f) => `${f}: not generated from any vendored CRD`),
    ...[...generated]
      .filter(([f, text]) => !onDisk.includes(f) || readFileSync(join(schemaDir, f), 'utf8') !== text)
      .map(([f]) => `${f}: differs from \`node k8s/scripts/vendor-crds.ts schemas\``),
  ];
}

const crds = vendoredCrds();

describe('vendored CRDs (k8s/crds) and the schemas derived from them', () => {
  it('every schema file equals what vendor-crds.ts generates from the vendored CRDs', () => {
    expect(drift(generateSchemas(crds))).toEqual([]);
  });

  it('notices a schema that was not regenerated after its CRD changed', () => {
    const changed: CrdDocument[] = structuredClone(crds);
    type Crd = {
      versions: { schema: { openAPIV3Schema: { properties: { spec: Record<string, unknown> } } } }[];
    };
    const canary = changed.find((c) => (c.crd.metadata as { name: string }).name === 'canaries.flagger.app');
    const spec = (canary as CrdDocument).crd.spec as Crd;
    const specSchema = spec.versions[0]?.schema.openAPIV3Schema.properties.spec;
    Object.assign(specSchema?.properties as object, { newField: { type: 'string' } });
    expect(drift(generateSchemas(changed))).toEqual([
      'flagger.app_v1beta1_Canary.json: differs from `node k8s/scripts/vendor-crds.ts schemas`',
    ]);
  });

  it('vendors each component completely: every CRD once, each with a schema for every served version', () => {
    const names = crds.map((c) => (c.crd.metadata as { name: string }).name);
    expect(names.length).toBeGreaterThanOrEqual(78);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    for (const source of readSources()) expect(crds.some((c) => c.component === source.component)).toBe(true);
    const unstructured = crds.flatMap((c) =>
      (
        c.crd.spec as {
          versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: unknown } }[];
        }
      ).versions
        .filter((v) => v.served && !v.schema?.openAPIV3Schema)
        .map((v) => `${c.file} ${v.name}`),
    );
    expect(unstructured).toEqual([]);
  });

  it.each(environments)('has a vendored CRD for every custom resource Flux applies in %s', (env) => {
    const { entry, layers } = fluxCluster(env);
    const served = new Set(
      crds.flatMap((c) => {
        const spec = c.crd.spec as {
          group: string;
          names: { kind: string };
          versions: { name: string; served: boolean }[];
        };
        return spec.versions.filter((v) => v.served).map((v) => `${spec.group}/${v.name}/${spec.names.kind}`);
      }),
    );
    const builtIn =
      /^(v1|(apps|batch|policy|autoscaling|networking\.k8s\.io|rbac\.authorization\.k8s\.io)\/v\d+)$/;
    const missing = [...entry, ...layers.flatMap((l) => l.objects)]
      .filter((o: K8sObject) => !builtIn.test(o.apiVersion) && !served.has(`${o.apiVersion}/${o.kind}`))
      .map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`);
    expect(missing).toEqual([]);
  });
});
