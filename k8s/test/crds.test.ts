import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import {
  type CrdDocument,
  crdsDir,
  generateSchemas,
  readSources,
  schemaDir,
  sourcesFile,
  vendoredCrds,
} from '../scripts/vendor-crds.js';
import { environments, fluxCluster, type K8sObject, repoRoot } from './lib/manifests.js';

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

/** The release of each vendored component that the manifests install, read from where it is pinned. */
function installedReleases(objects: K8sObject[]): Record<string, string | undefined> {
  const upstream = parseYaml(readFileSync(join(schemaDir, '../upstream-releases.yaml'), 'utf8')) as {
    helmRepositories: { charts: Record<string, { version: string; appVersion?: string }[]> }[];
    knativeOperatorEventing: { chart: Record<string, string[]> };
  };
  const chart = (name: string) =>
    objects.find((o) => o.kind === 'HelmRelease' && o.spec.chart.spec.chart === name)?.spec.chart.spec
      .version;
  const appVersion = (name: string) =>
    upstream.helmRepositories
      .flatMap((r) => r.charts[name] ?? [])
      .find((c) => c.version === String(chart(name)))?.appVersion;
  const eventing = objects.find((o) => o.kind === 'KnativeEventing');
  const kafkaTag = (eventing?.spec.additionalManifests ?? [])
    .map(
      (m: { URL: string }) =>
        /eventing-kafka-broker\/releases\/download\/knative-v([^/]+)\//.exec(m.URL)?.[1],
    )
    .find(Boolean);
  const e2e = readFileSync(join(repoRoot, '.github/workflows/e2e.yml'), 'utf8');
  const flux = /fluxcd\/flux2\/action@\S+.*\n\s+with:\n\s+version: (\S+)/.exec(e2e)?.[1];
  const fluxRelease = (parseYaml(readFileSync(sourcesFile, 'utf8')) as { flux: string }).flux;
  return {
    istio: chart('base'),
    'knative-operator': String(chart('knative-operator')).replace(/^v/, ''),
    // the operator installs the newest patch it ships of spec.version's minor
    'knative-eventing': (upstream.knativeOperatorEventing.chart[String(chart('knative-operator'))] ?? [])
      .filter((v) => v.startsWith(`${eventing?.spec.version}.`))
      .at(-1),
    'eventing-kafka-broker': kafkaTag,
    flagger: chart('flagger'),
    strimzi: chart('strimzi-kafka-operator'),
    'cloudnative-pg': appVersion('cloudnative-pg'),
    openfaas: chart('openfaas'),
    ...Object.fromEntries(
      readSources()
        .filter((s) => s.component.startsWith('flux-'))
        .map((s) => [
          s.component,
          flux === fluxRelease ? s.version : `Flux ${flux} (crd-sources.yaml: ${fluxRelease})`,
        ]),
    ),
  };
}

/** Components whose installed release differs from the one whose CRDs are vendored. */
function unvendored(objects: K8sObject[]): string[] {
  const installed = installedReleases(objects);
  return readSources()
    .filter((s) => installed[s.component] !== s.version)
    .map((s) => `${s.component}: installs ${installed[s.component]}, k8s/crds has ${s.version}`);
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

  it('keeps k8s/crds to CustomResourceDefinitions only, so `kubectl apply -R -f k8s/crds` installs them', () => {
    const others: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ya?ml|json)$/.test(entry.name)) {
          for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
            const kind = (doc.toJS() as { kind?: string } | null)?.kind;
            if (doc.contents !== null && kind !== 'CustomResourceDefinition') others.push(`${path}: ${kind}`);
          }
        }
      }
    };
    walk(crdsDir);
    expect(others).toEqual([]);
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

  it.each(environments)('vendors the CRDs of exactly the releases installed in %s', (env) => {
    const { entry, layers } = fluxCluster(env);
    expect(unvendored([...entry, ...layers.flatMap((l) => l.objects)])).toEqual([]);
  });

  it('notices a chart moved without vendoring its CRDs again', () => {
    const { entry, layers } = fluxCluster('staging');
    const objects = structuredClone([...entry, ...layers.flatMap((l) => l.objects)]);
    const flagger = objects.find(
      (o) => o.kind === 'HelmRelease' && o.metadata.name === 'flagger',
    ) as K8sObject;
    flagger.spec.chart.spec.version = '1.45.0';
    expect(unvendored(objects)).toEqual(['flagger: installs 1.45.0, k8s/crds has 1.44.0']);
  });

  it.each(environments)(
    'has a vendored CRD, served and not deprecated, for every custom resource Flux applies in %s',
    (env) => {
      const { entry, layers } = fluxCluster(env);
      const served = new Set(
        crds.flatMap((c) => {
          const spec = c.crd.spec as {
            group: string;
            names: { kind: string };
            versions: { name: string; served: boolean; deprecated?: boolean }[];
          };
          return spec.versions
            .filter((v) => v.served && !v.deprecated)
            .map((v) => `${spec.group}/${v.name}/${spec.names.kind}`);
        }),
      );
      const builtIn =
        /^(v1|(apps|batch|policy|autoscaling|networking\.k8s\.io|rbac\.authorization\.k8s\.io)\/v\d+)$/;
      const missing = [...entry, ...layers.flatMap((l) => l.objects)]
        .filter((o: K8sObject) => !builtIn.test(o.apiVersion) && !served.has(`${o.apiVersion}/${o.kind}`))
        .map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`);
      expect(missing).toEqual([]);
    },
  );
});
