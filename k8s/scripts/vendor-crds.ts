/**
 * The vendored CRDs and the JSON schemas derived from them, from one list: k8s/crd-sources.yaml.
 *
 *   node k8s/scripts/vendor-crds.ts fetch     # k8s/crds/<component>/<version>/ from the upstream releases
 *   node k8s/scripts/vendor-crds.ts schemas   # k8s/schemas/crds/*.json from the vendored CRDs
 *
 * `fetch` needs the upstream sources: for "git" entries the repository snapshots that the `fetch` tool
 * mirrors under $MIRROR_DIR (default /work/.mirror), for "go-module" entries `go mod download` (Go
 * module proxy). `schemas` is offline; k8s/test/crds.test.ts checks that its output equals the files in
 * the repository, so a pin change without regeneration fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

type Schema = Record<string, unknown>;

export interface CrdSource {
  component: string;
  version: string;
  source: 'git' | 'go-module';
  repository?: string;
  module?: string;
  tag: string;
  commit?: string;
  sum?: string;
  paths: string[];
  crdsOnly?: boolean;
}

export interface CrdDocument {
  /** Path of the vendored file, relative to k8s/crds. */
  file: string;
  component: string;
  version: string;
  crd: Schema;
}

const k8sDir = join(import.meta.dirname, '..');
export const crdsDir = join(k8sDir, 'crds');
/** Outside crds/ so that `kubectl apply -R -f k8s/crds` applies CRDs only. */
export const sourcesFile = join(k8sDir, 'crd-sources.yaml');
export const schemaDir = join(k8sDir, 'schemas/crds');

/**
 * The kinds whose `spec` schema the offline validator needs (k8s/test/schemas.test.ts): every custom
 * resource kind and version the repository's manifests use, and the component that defines it.
 */
export const schemaKinds: { component: string; kind: string; version: string }[] = [
  { component: 'knative-eventing', kind: 'Broker', version: 'v1' },
  { component: 'knative-eventing', kind: 'Trigger', version: 'v1' },
  { component: 'knative-eventing', kind: 'EventPolicy', version: 'v1alpha1' },
  { component: 'knative-eventing', kind: 'PingSource', version: 'v1' },
  { component: 'eventing-kafka-broker', kind: 'KafkaSink', version: 'v1alpha1' },
  { component: 'knative-operator', kind: 'KnativeEventing', version: 'v1beta1' },
  { component: 'flagger', kind: 'Canary', version: 'v1beta1' },
  { component: 'flagger', kind: 'MetricTemplate', version: 'v1beta1' },
  { component: 'istio', kind: 'PeerAuthentication', version: 'v1' },
  { component: 'istio', kind: 'AuthorizationPolicy', version: 'v1' },
  { component: 'istio', kind: 'RequestAuthentication', version: 'v1' },
  { component: 'istio', kind: 'Gateway', version: 'v1' },
  { component: 'istio', kind: 'VirtualService', version: 'v1' },
  { component: 'flux-source-controller', kind: 'GitRepository', version: 'v1' },
  { component: 'flux-source-controller', kind: 'HelmRepository', version: 'v1' },
  { component: 'flux-kustomize-controller', kind: 'Kustomization', version: 'v1' },
  { component: 'flux-helm-controller', kind: 'HelmRelease', version: 'v2' },
  { component: 'flux-image-reflector-controller', kind: 'ImageRepository', version: 'v1' },
  { component: 'flux-image-reflector-controller', kind: 'ImagePolicy', version: 'v1' },
  { component: 'flux-image-automation-controller', kind: 'ImageUpdateAutomation', version: 'v1' },
  { component: 'strimzi', kind: 'Kafka', version: 'v1' },
  { component: 'strimzi', kind: 'KafkaNodePool', version: 'v1' },
  { component: 'cloudnative-pg', kind: 'Cluster', version: 'v1' },
  { component: 'openfaas', kind: 'Function', version: 'v1' },
];

export function readSources(): CrdSource[] {
  return (parseYaml(readFileSync(sourcesFile, 'utf8')) as { components: CrdSource[] }).components;
}

function isRecord(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every CustomResourceDefinition of the vendored files, with the component and version they belong to. */
export function vendoredCrds(): CrdDocument[] {
  const out: CrdDocument[] = [];
  for (const { component, version } of readSources()) {
    const dir = join(crdsDir, component, version);
    for (const name of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        const crd = doc.toJS() as unknown;
        if (isRecord(crd) && crd.kind === 'CustomResourceDefinition') {
          out.push({ file: `${component}/${version}/${name}`, component, version, crd });
        }
      }
    }
  }
  return out;
}

/** The schema without `description`; names under `properties` are field names and are all kept. */
function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (!isRecord(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description') continue;
    out[key] =
      key === 'properties' && isRecord(value)
        ? Object.fromEntries(Object.entries(value).map(([name, child]) => [name, strip(child)]))
        : strip(value);
  }
  return out;
}

/**
 * schemas/crds/<group>_<version>_<Kind>.json for every entry of `schemaKinds`: the `spec` part of that
 * version's `openAPIV3Schema`, complete, with only `description` removed (`status` is not allowed in
 * manifests; k8s/test/lib/schemas.ts converts the rest with the API server's rules).
 */
export function generateSchemas(crds = vendoredCrds()): Map<string, string> {
  const files = new Map<string, string>();
  for (const { component, kind, version } of schemaKinds) {
    const found = crds.filter(
      (c) => c.component === component && (c.crd.spec as { names: { kind: string } }).names.kind === kind,
    );
    if (found.length !== 1) throw new Error(`${component}: ${found.length} CRDs of kind ${kind}, expected 1`);
    const spec = (found[0] as CrdDocument).crd.spec as {
      group: string;
      versions: { name: string; schema?: { openAPIV3Schema?: { properties?: { spec?: Schema } } } }[];
    };
    const specSchema = spec.versions.find((v) => v.name === version)?.schema?.openAPIV3Schema?.properties
      ?.spec;
    if (!specSchema) throw new Error(`${component}: ${kind} has no ${version} schema with a spec`);
    files.set(`${spec.group}_${version}_${kind}.json`, `${JSON.stringify(strip(specSchema), null, 1)}\n`);
  }
  return files;
}

/** The YAML documents of `text` that are CustomResourceDefinitions, verbatim. */
function crdDocumentsOnly(text: string): string {
  const docs = parseAllDocuments(text).filter(
    (d) => (d.toJS() as Schema | null)?.kind === 'CustomResourceDefinition',
  );
  return docs
    .map((d) => `---\n${text.slice(d.contents?.range[0], d.contents?.range[2]).trimEnd()}\n`)
    .join('');
}

function upstreamFiles(source: CrdSource): { name: string; text: string }[] {
  if (source.source === 'go-module') {
    const info = JSON.parse(
      execFileSync('go', ['mod', 'download', '-json', `${source.module}@${source.tag}`], {
        encoding: 'utf8',
      }),
    ) as { Dir?: string; Error?: string; Sum?: string };
    if (!info.Dir) throw new Error(`${source.module}@${source.tag}: ${info.Error}`);
    if (info.Sum !== source.sum)
      throw new Error(`${source.module}@${source.tag} is ${info.Sum}, crd-sources.yaml says ${source.sum}`);
    const root = info.Dir;
    return source.paths.flatMap((path) => {
      const full = join(root, path);
      const names = statSync(full).isDirectory()
        ? readdirSync(full)
            .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
            .map((f) => join(path, f))
        : [path];
      return names.map((p) => ({ name: basename(p), text: readFileSync(join(root, p), 'utf8') }));
    });
  }
  const mirror = join(
    process.env.MIRROR_DIR ?? '/work/.mirror',
    `${source.repository?.replace('/', '+')}`,
    'repo',
  );
  const git = (...args: string[]) => execFileSync('git', ['-C', mirror, ...args], { encoding: 'utf8' });
  const commit = git('rev-parse', `${source.tag}^{commit}`).trim();
  if (source.commit && commit !== source.commit) {
    throw new Error(
      `${source.repository} ${source.tag} is ${commit}, crd-sources.yaml says ${source.commit}`,
    );
  }
  return source.paths.flatMap((path) => {
    const listed = git('ls-tree', '-r', '--name-only', commit, '--', path)
      .split('\n')
      .filter((f) => f.endsWith('.yaml') && basename(f) !== 'kustomization.yaml');
    return listed.map((p) => ({ name: basename(p), text: git('show', `${commit}:${p}`) }));
  });
}

function fetchAll(): void {
  for (const source of readSources()) {
    const dir = join(crdsDir, source.component, source.version);
    rmSync(join(crdsDir, source.component), { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const { name, text } of upstreamFiles(source)) {
      const out = source.crdsOnly ? crdDocumentsOnly(text) : text;
      if (!out.includes('CustomResourceDefinition'))
        throw new Error(`${source.component}: ${name} holds no CRD`);
      writeFileSync(join(dir, name), out);
    }
    console.log(`${source.component} ${source.version}: ${readdirSync(dir).length} files`);
  }
}

function writeSchemas(): void {
  for (const [name, text] of generateSchemas()) writeFileSync(join(schemaDir, name), text);
  console.log(`${schemaDir}: ${schemaKinds.length} schemas`);
}

if (import.meta.main) {
  const command = process.argv[2];
  if (command === 'fetch') fetchAll();
  else if (command === 'schemas') writeSchemas();
  else throw new Error('usage: vendor-crds.ts fetch|schemas');
}
