import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vendoredCrds } from '../../scripts/vendor-crds.js';
import { type FluxLayer, type K8sObject, repoRoot } from './manifests.js';

/**
 * Does the documented bootstrap install every CRD the repository's Flux Kustomizations apply, before
 * they apply it? Flux dry-runs a Kustomization's whole set first, so one kind without its CRD fails
 * the whole layer (and every layer after it). The CRDs each component installs come from the vendored
 * upstream CRDs in k8s/crds/ (k8s/crd-sources.yaml), never from a hand-kept list.
 */

/** `flux install` / `flux bootstrap` without --components: fluxcd/flux2 pkg/manifestgen/install/options.go MakeDefaultOptions. */
export const fluxDefaultComponents = [
  'source-controller',
  'kustomize-controller',
  'helm-controller',
  'notification-controller',
];

/** HelmRelease charts whose CRDs are a vendored component of k8s/crds/, and charts that ship no CRDs. */
const chartComponents: Record<string, string | null> = {
  base: 'istio', // istio/istio manifests/charts/base: every Istio CRD
  'knative-operator': 'knative-operator',
  'strimzi-kafka-operator': 'strimzi',
  'cloudnative-pg': 'cloudnative-pg',
  flagger: 'flagger',
  openfaas: 'openfaas', // faas-netes chart/openfaas: its crds/ and (createCRDs) templated CRDs
  istiod: null,
  gateway: null,
  prometheus: null, // prometheus-community/prometheus (not kube-prometheus-stack): no CRDs
  'opentelemetry-collector': null,
  loadtester: null,
  'cron-connector': null,
};

let byComponent: Map<string, Set<string>> | undefined;

/** `group/version/Kind` of every served version of every CRD vendored for a component of k8s/crds/. */
export function componentKinds(component: string): Set<string> {
  byComponent ??= vendoredCrds().reduce((map, { component, crd }) => {
    // biome-ignore lint/suspicious/noExplicitAny: a CRD, read by field name
    const spec = crd.spec as any;
    const kinds = map.get(component) ?? new Set<string>();
    for (const v of spec.versions.filter((v: { served: boolean }) => v.served)) {
      kinds.add(`${spec.group}/${v.name}/${spec.names.kind}`);
    }
    return map.set(component, kinds);
  }, new Map<string, Set<string>>());
  const kinds = byComponent.get(component);
  if (!kinds) throw new Error(`no vendored CRDs for ${component} in k8s/crds/ (see k8s/crds/README.md)`);
  return kinds;
}

/** Kinds of the API server itself: the core group and the *.k8s.io and dotless groups (apps, batch, ...). */
export function builtIn(apiVersion: string): boolean {
  if (!apiVersion.includes('/')) return true;
  const group = apiVersion.split('/')[0] as string;
  return !group.includes('.') || group.endsWith('.k8s.io');
}

/** What installing the objects of a layer brings: the CRDs of its HelmReleases' charts and of KnativeEventing. */
export function layerInstalls(objects: K8sObject[]): { kinds: Set<string>; problems: string[] } {
  const kinds = new Set<string>();
  const problems: string[] = [];
  const add = (component: string) => {
    for (const k of componentKinds(component)) kinds.add(k);
  };
  for (const o of objects) {
    if (o.kind === 'HelmRelease') {
      const chart = o.spec.chart?.spec?.chart;
      const component = chartComponents[chart];
      if (component === undefined)
        problems.push(`HelmRelease ${o.metadata.name}: chart ${chart} is not known to ship CRDs or not`);
      else if (component) add(component);
    } else if (o.kind === 'KnativeEventing') {
      // The operator installs Knative Eventing's own release (CRDs included), then each additional manifest.
      add('knative-eventing');
      for (const { URL: url } of o.spec.additionalManifests ?? []) {
        if (/eventing-kafka-broker\/.*\/eventing-kafka-controller\.yaml$/.test(url))
          add('eventing-kafka-broker');
      }
    } else if (o.kind === 'CustomResourceDefinition') {
      for (const v of o.spec.versions) kinds.add(`${o.spec.group}/${v.name}/${o.spec.names.kind}`);
    }
  }
  return { kinds, problems };
}

export interface BootstrapCommand {
  /** where it was found, for messages */
  where: string;
  /** the command line, variables substituted */
  line: string;
  version?: string;
  components: string[];
}

/** Shell lines with continuations joined. */
function shellLines(text: string): string[] {
  return text.replace(/\\\n\s*/g, ' ').split('\n');
}

/** `name=value` assignments of a shell script (unquoted or double-quoted values without expansions). */
function assignments(script: string): Record<string, string> {
  return Object.fromEntries(
    [...script.matchAll(/^([a-z_]+)="?([^"$\s]+)"?\s*(#.*)?$/gm)].map((m) => [
      m[1] as string,
      m[2] as string,
    ]),
  );
}

function flag(line: string, name: string): string | undefined {
  return new RegExp(`--${name}[= ]"?([^"\\s]+)"?`).exec(line)?.[1];
}

function parseFluxCommand(line: string, where: string): BootstrapCommand {
  const components = (flag(line, 'components')?.split(',') ?? fluxDefaultComponents).concat(
    flag(line, 'components-extra')?.split(',') ?? [],
  );
  return { where, line: line.trim(), version: flag(line, 'version'), components };
}

const bootstrapScript = 'flux/bootstrap.sh';

/**
 * The Flux installs a text runs, in order: `flux bootstrap <provider>` and `flux install` lines, and each
 * `flux/bootstrap.sh <env> <mode>` call expanded to the commands of that mode's branch of the script.
 */
export function bootstrapCommands(
  text: string,
  where: string,
): { env?: string; mode?: string; commands: BootstrapCommand[] }[] {
  const script = readFileSync(join(repoRoot, bootstrapScript), 'utf8');
  const variables = assignments(script);
  const substitute = (line: string) =>
    line.replace(/\$\{?([a-z_]+)\}?/g, (whole, name: string) => variables[name] ?? whole);
  const found: { env?: string; mode?: string; commands: BootstrapCommand[] }[] = [];
  for (const line of shellLines(text)) {
    const call = /(?:^|\s)(?:\.\/)?flux\/bootstrap\.sh\s+(\S+)\s+(\S+)/.exec(line);
    if (call) {
      const [, env, mode] = call as unknown as [string, string, string];
      const branch = new RegExp(`^${mode}\\)\\n([\\s\\S]*?)^\\s*;;`, 'm').exec(script)?.[1];
      if (!branch) throw new Error(`${bootstrapScript} has no mode ${mode}`);
      const commands = shellLines(branch)
        .filter((l) => /^\s*flux (bootstrap \w+|install)\b/.test(l))
        .map((l) => parseFluxCommand(substitute(l), `${where} via ${bootstrapScript} ${mode}`));
      found.push({ env, mode, commands });
    } else if (/^\s*(?:\$\s*)?flux (bootstrap \w+|install)\b/.test(line)) {
      found.push({ commands: [parseFluxCommand(line, where)] });
    }
  }
  return found;
}

/**
 * Every kind a Flux layer applies has its CRD installed by the bootstrap or by a layer it depends on
 * (transitively), at a version that CRD serves.
 */
export function missingCrds(layers: FluxLayer[], bootstrap: BootstrapCommand[]): string[] {
  const problems: string[] = [];
  const fromBootstrap = new Set<string>();
  for (const command of bootstrap) {
    for (const component of command.components) {
      try {
        for (const k of componentKinds(`flux-${component}`)) fromBootstrap.add(k);
      } catch (error) {
        problems.push(`${command.where}: ${(error as Error).message}`);
      }
    }
  }
  const byName = new Map(layers.map((l) => [l.kustomization.metadata.name, l]));
  const installs = new Map(
    layers.map((l) => {
      const { kinds, problems: unknown } = layerInstalls(l.objects);
      problems.push(...unknown.map((p) => `Kustomization ${l.kustomization.metadata.name}: ${p}`));
      return [l.kustomization.metadata.name, kinds];
    }),
  );
  const before = (name: string, seen = new Set<string>()): Set<string> => {
    const kinds = new Set<string>();
    for (const dep of byName.get(name)?.kustomization.spec.dependsOn ?? []) {
      if (seen.has(dep.name)) continue;
      seen.add(dep.name);
      for (const k of installs.get(dep.name) ?? []) kinds.add(k);
      for (const k of before(dep.name, seen)) kinds.add(k);
    }
    return kinds;
  };
  for (const layer of layers) {
    const name = layer.kustomization.metadata.name;
    const available = before(name);
    const reported = new Set<string>();
    for (const o of layer.objects) {
      const kind = `${o.apiVersion}/${o.kind}`;
      if (builtIn(o.apiVersion) || fromBootstrap.has(kind) || available.has(kind) || reported.has(kind))
        continue;
      reported.add(kind);
      problems.push(
        `Kustomization ${name} applies ${o.apiVersion} ${o.kind}, whose CRD neither the bootstrap (${[...new Set(bootstrap.flatMap((c) => c.components))].join(', ')}) nor a layer it depends on installs`,
      );
    }
  }
  return problems;
}
