import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository root: Flux paths (`./k8s/...`) are relative to it. */
export const repoRoot = join(import.meta.dirname, '../../..');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML, read by field path
  [field: string]: any;
}

const builds = new Map<string, K8sObject[]>();

/** `kubectl kustomize DIR`, parsed. Fails loudly (kubectl missing, broken kustomization). */
export function kustomize(dir: string): K8sObject[] {
  const absolute = join(repoRoot, dir);
  const cached = builds.get(absolute);
  if (cached) return cached;
  const output = execFileSync('kubectl', ['kustomize', absolute], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const objects = parseYamlObjects(output);
  builds.set(absolute, objects);
  return objects;
}

export function parseYamlObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(document.errors.map((e) => e.message).join('\n'));
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

/** Every folder under k8s/ and flux/ with a kustomization.yaml: each must build on its own. */
export function kustomizeEntryPoints(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (existsSync(join(dir, 'kustomization.yaml'))) found.push(relative(repoRoot, dir));
    for (const entry of readdirSync(dir)) {
      const child = join(dir, entry);
      if (entry !== 'node_modules' && entry !== 'schemas' && statSync(child).isDirectory()) walk(child);
    }
  };
  walk(join(repoRoot, 'k8s'));
  walk(join(repoRoot, 'flux'));
  return found.sort();
}

export const environments = ['staging', 'production'] as const;
export type Environment = (typeof environments)[number];

export interface FluxLayer {
  kustomization: K8sObject;
  objects: K8sObject[];
}

/** A cluster as Flux sees it: the entry folder, then every Flux Kustomization followed to its spec.path. */
export function fluxCluster(env: Environment): { entry: K8sObject[]; layers: FluxLayer[] } {
  const entry = kustomize(`flux/clusters/${env}`);
  const layers = entry
    .filter((o) => o.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/') && o.kind === 'Kustomization')
    .map((kustomization) => ({
      kustomization,
      objects: kustomize(String(kustomization.spec.path).replace(/^\.\//, '')),
    }));
  return { entry, layers };
}

export function isKind(object: K8sObject, apiVersion: string, kind: string): boolean {
  return object.apiVersion === apiVersion && object.kind === kind;
}
