import type { K8sObject } from './manifests.js';
import type { MeshRequest, Workload } from './mesh.js';

/**
 * Kubernetes NetworkPolicy ingress semantics for one request
 * (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a pod selected by no
 * Ingress policy accepts everything; a selected pod accepts what some rule of some selecting policy
 * admits (peers: podSelector in the policy's namespace, namespaceSelector, both; ports by number or by
 * the target container's port name). ipBlock peers are not evaluated (no request here has an address).
 */

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  const exact = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    exact &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      switch (operator) {
        case 'In':
          return labels[key] !== undefined && values.includes(labels[key]);
        case 'NotIn':
          return labels[key] === undefined || !values.includes(labels[key]);
        case 'Exists':
          return key in labels;
        case 'DoesNotExist':
          return !(key in labels);
        default:
          throw new Error(`unknown selector operator ${operator}`);
      }
    })
  );
}

/** A namespace's labels, with the kubernetes.io/metadata.name label the API server sets on every namespace. */
function namespaceLabels(name: string, objects: K8sObject[]): Record<string, string> {
  const namespace = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === name);
  return { ...(namespace?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

function peerMatches(peer: Peer, policyNamespace: string, from: Workload, objects: K8sObject[]): boolean {
  if (peer.ipBlock) return false;
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabels(from.namespace, objects))
    : from.namespace === policyNamespace;
  return namespaceOk && selectorMatches(peer.podSelector, from.labels);
}

/** Why the callee's NetworkPolicies drop the request, or nothing. The kubelet (no `from`) is not subject to them. */
export function networkPolicyRefuses(request: MeshRequest, objects: K8sObject[]): string[] {
  const from = request.from;
  if (!from) return [];
  const selecting = objects.filter(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      (o.metadata.namespace ?? 'default') === request.to.namespace &&
      selectorMatches(o.spec.podSelector, request.to.labels) &&
      (o.spec.policyTypes ?? ['Ingress']).includes('Ingress'),
  );
  if (selecting.length === 0) return [];
  const admitted = selecting.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule: { from?: Peer[]; ports?: { port?: number | string; protocol?: string }[] }) => {
        const peerOk =
          !rule.from ||
          rule.from.length === 0 ||
          rule.from.some((peer) => peerMatches(peer, request.to.namespace, from, objects));
        const portOk =
          !rule.ports ||
          rule.ports.length === 0 ||
          rule.ports.some(
            (p) =>
              (p.protocol ?? 'TCP') === 'TCP' &&
              (p.port === undefined ||
                p.port === request.port ||
                (typeof p.port === 'string' && request.to.ports?.[p.port] === request.port)),
          );
        return peerOk && portOk;
      },
    ),
  );
  if (admitted) return [];
  return [
    `${request.what}: no NetworkPolicy of ${selecting.map((p) => p.metadata.name).join(', ')} admits ${from.namespace}/${from.labels.app ?? JSON.stringify(from.labels)} on port ${request.port}`,
  ];
}
