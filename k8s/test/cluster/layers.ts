import { type Environment, type FluxLayer, fluxCluster } from '../lib/manifests.js';

/**
 * The Flux Kustomizations of a cluster in the order Flux reaches them: the root one (`flux bootstrap`'s,
 * path flux/clusters/<env>, which creates the others) first, then each after everything it dependsOn.
 */
export function layersInOrder(env: Environment): FluxLayer[] {
  const { layers } = fluxCluster(env);
  const root = layers.find((layer) => layer.kustomization.spec.path === `./flux/clusters/${env}`);
  if (!root) throw new Error(`no Flux Kustomization of ./flux/clusters/${env}`);
  const byName = new Map(layers.map((layer) => [layer.kustomization.metadata.name, layer]));
  const ordered: FluxLayer[] = [];
  const visit = (layer: FluxLayer, path: string[]): void => {
    const name = layer.kustomization.metadata.name;
    if (ordered.includes(layer)) return;
    if (path.includes(name)) throw new Error(`dependsOn cycle: ${[...path, name].join(' -> ')}`);
    for (const { name: dependency } of layer.kustomization.spec.dependsOn ?? []) {
      const found = byName.get(dependency);
      if (!found) throw new Error(`${name} dependsOn ${dependency}, which ${env} does not define`);
      visit(found, [...path, name]);
    }
    ordered.push(layer);
  };
  visit(root, []);
  for (const layer of layers) visit(layer, []);
  return ordered;
}

/** `name -> names it dependsOn` of a cluster's Flux Kustomizations. */
export function dependencies(env: Environment): Map<string, string[]> {
  return new Map(
    fluxCluster(env).layers.map(({ kustomization }) => [
      kustomization.metadata.name,
      (kustomization.spec.dependsOn ?? []).map((d: { name: string }) => d.name),
    ]),
  );
}
