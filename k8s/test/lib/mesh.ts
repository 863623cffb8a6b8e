import type { K8sObject } from './manifests.js';

/**
 * Istio's decisions on one request, evaluated offline from the manifests: is the caller in the mesh, does
 * the callee's PeerAuthentication admit it, and do the callee's AuthorizationPolicies allow it.
 * Semantics: https://istio.io/latest/docs/reference/config/security/authorization-policy/ and
 * https://istio.io/latest/docs/reference/config/security/peer_authentication/.
 */

/** Istio's root namespace: policies there without a selector apply to the whole mesh. */
const rootNamespace = 'istio-system';

/**
 * Ports the sidecar's iptables rules never redirect to Envoy (istio/istio tools/istio-iptables: the
 * agent's health port 15021 where kubelet probes are rewritten to, the merged metrics port 15020 that
 * prometheus.io/port is rewritten to, Envoy's own 15090): neither mTLS nor authorization applies there.
 */
export const unmeshedPorts = new Set([15020, 15021, 15090]);

export interface Workload {
  namespace: string;
  /** the pod's labels and annotations (sidecar.istio.io/inject) */
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  serviceAccount?: string;
  /** named container ports (NetworkPolicies may name them) */
  ports?: Record<string, number>;
}

export interface MeshRequest {
  /** what makes the request, and the upstream source that says so */
  what: string;
  /** undefined: not a pod (the kubelet, the API server) */
  from?: Workload;
  to: Workload;
  /** the port of the pod the request arrives at (authorization and PeerAuthentication ports are pod ports) */
  port: number;
  method: string;
  path: string;
  host?: string;
  headers?: Record<string, string>;
}

/**
 * A pod has a sidecar if its namespace is labelled for injection (istio-injection=enabled or an
 * istio.io/rev revision) and the pod does not opt out (sidecar.istio.io/inject: "false", label or
 * annotation); istio-injection=disabled wins over everything.
 */
export function hasSidecar(workload: Workload, objects: K8sObject[]): boolean {
  const namespace = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === workload.namespace);
  const labels = namespace?.metadata.labels ?? {};
  if (labels['istio-injection'] === 'disabled') return false;
  const optOut =
    workload.labels['sidecar.istio.io/inject'] ?? workload.annotations?.['sidecar.istio.io/inject'];
  if (optOut === 'false') return false;
  if (optOut === 'true') return true;
  return labels['istio-injection'] === 'enabled' || labels['istio.io/rev'] !== undefined;
}

const policies = (objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.apiVersion.startsWith('security.istio.io/') && o.kind === kind);

/** In the workload's namespace with a matching (or no) selector, or in the root namespace likewise. */
function selects(policy: K8sObject, workload: Workload): boolean {
  const namespace = policy.metadata.namespace ?? 'default';
  if (namespace !== workload.namespace && namespace !== rootNamespace) return false;
  if (policy.spec?.targetRef || policy.spec?.targetRefs) return false; // bound to a Gateway, not to pods
  const labels: Record<string, string> = policy.spec?.selector?.matchLabels ?? {};
  return Object.entries(labels).every(([k, v]) => workload.labels[k] === v);
}

/**
 * The PeerAuthentication mode for a port of a workload: the workload policy's portLevelMtls, then its
 * mode, then the namespace policy (no selector), then the mesh policy (root namespace, no selector);
 * UNSET inherits; nothing set at all means PERMISSIVE.
 */
export function mtlsMode(workload: Workload, port: number, objects: K8sObject[]): string {
  const applicable = policies(objects, 'PeerAuthentication').filter((p) => selects(p, workload));
  const withSelector = applicable.filter(
    (p) =>
      Object.keys(p.spec?.selector?.matchLabels ?? {}).length > 0 &&
      p.metadata.namespace === workload.namespace,
  );
  const namespaceWide = applicable.filter(
    (p) => !p.spec?.selector && p.metadata.namespace === workload.namespace,
  );
  const meshWide = applicable.filter((p) => !p.spec?.selector && p.metadata.namespace === rootNamespace);
  const modes = [
    ...withSelector.map((p) => p.spec.portLevelMtls?.[String(port)]?.mode),
    ...withSelector.map((p) => p.spec.mtls?.mode),
    ...namespaceWide.map((p) => p.spec.mtls?.mode),
    ...meshWide.map((p) => p.spec.mtls?.mode),
  ];
  return modes.find((m) => m !== undefined && m !== 'UNSET') ?? 'PERMISSIVE';
}

/** Istio's string match: exact, "prefix*", "*suffix", or "*" (any non-empty value). */
function matches(pattern: string, value: string | undefined, caseInsensitive = false): boolean {
  if (value === undefined || value === '') return false;
  const [p, v] = caseInsensitive ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  if (p === '*') return true;
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  return p === v;
}

/** A field with a positive and a negative list: both must agree (absent lists match anything). */
function field(
  values: string[] | undefined,
  notValues: string[] | undefined,
  value: string | undefined,
  ci = false,
) {
  if (values && !values.some((p) => matches(p, value, ci))) return false;
  if (notValues?.some((p) => matches(p, value, ci))) return false;
  return true;
}

interface Peer {
  principal?: string;
  namespace?: string;
  /** <namespace>/<service account>, what `serviceAccounts` matches */
  serviceAccount?: string;
}

/** The fields evaluated here; a policy using any other fails the check loudly instead of being misread. */
const sourceFields = [
  'principals',
  'notPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
];
const operationFields = [
  'hosts',
  'notHosts',
  'ports',
  'notPorts',
  'methods',
  'notMethods',
  'paths',
  'notPaths',
];

function known(fields: string[], value: object, what: string): void {
  const unknown = Object.keys(value).filter((k) => !fields.includes(k));
  if (unknown.length > 0) throw new Error(`${what} field ${unknown.join(', ')} is not evaluated offline`);
}

function ruleMatches(
  // biome-ignore lint/suspicious/noExplicitAny: an Istio rule, read by field name
  rule: any,
  request: MeshRequest,
  peer: Peer,
): boolean {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const sourceMatches = (s: any) => {
    known(sourceFields, s, 'source');
    return (
      field(s.principals, s.notPrincipals, peer.principal) &&
      field(s.namespaces, s.notNamespaces, peer.namespace) &&
      field(s.serviceAccounts, s.notServiceAccounts, peer.serviceAccount)
    );
  };
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const operationMatches = (o: any) => {
    known(operationFields, o, 'operation');
    return (
      field(o.hosts, o.notHosts, request.host, true) &&
      field(o.ports, o.notPorts, String(request.port)) &&
      field(o.methods, o.notMethods, request.method) &&
      field(o.paths, o.notPaths, request.path)
    );
  };
  // biome-ignore lint/suspicious/noExplicitAny: as above
  const conditionMatches = (c: any) => {
    const header = /^request\.headers\[(.+)\]$/.exec(c.key);
    if (!header) throw new Error(`condition ${c.key} is not evaluated offline`);
    const value = Object.entries(request.headers ?? {}).find(
      ([name]) => name.toLowerCase() === (header[1] as string).toLowerCase(),
    )?.[1];
    return field(c.values, c.notValues, value);
  };
  if (rule.from && !rule.from.some((f: { source: unknown }) => sourceMatches(f.source ?? {}))) return false;
  if (rule.to && !rule.to.some((t: { operation: unknown }) => operationMatches(t.operation ?? {})))
    return false;
  return (rule.when ?? []).every(conditionMatches);
}

/** The peer Istio sees: a principal and namespace only over mTLS, that is when both ends have sidecars. */
function peerOf(request: MeshRequest, objects: K8sObject[]): Peer {
  const from = request.from;
  if (!from || !hasSidecar(from, objects) || !hasSidecar(request.to, objects)) return {};
  return {
    principal: `cluster.local/ns/${from.namespace}/sa/${from.serviceAccount ?? 'default'}`,
    namespace: from.namespace,
    serviceAccount: `${from.namespace}/${from.serviceAccount ?? 'default'}`,
  };
}

/**
 * Why the callee's sidecar refuses the connection: a caller without a sidecar speaks plaintext, which a
 * STRICT PeerAuthentication on the arrival port rejects. Nothing to refuse if the callee has no sidecar
 * or the port is not intercepted.
 */
export function mtlsRefuses(request: MeshRequest, objects: K8sObject[]): string[] {
  if (!hasSidecar(request.to, objects) || unmeshedPorts.has(request.port)) return [];
  const callerMeshed = request.from !== undefined && hasSidecar(request.from, objects);
  if (callerMeshed || mtlsMode(request.to, request.port, objects) !== 'STRICT') return [];
  return [
    `${request.what}: plaintext from outside the mesh, PeerAuthentication is STRICT on port ${request.port}`,
  ];
}

/**
 * Why the callee's AuthorizationPolicies deny the request: a matching DENY policy, or ALLOW policies of
 * which none matches (no ALLOW policy at all allows everything). CUSTOM and AUDIT policies are not
 * evaluated (the repository has none).
 */
export function authzRefuses(request: MeshRequest, objects: K8sObject[]): string[] {
  if (!hasSidecar(request.to, objects) || unmeshedPorts.has(request.port)) return [];
  const peer = peerOf(request, objects);
  const applicable = policies(objects, 'AuthorizationPolicy').filter((p) => selects(p, request.to));
  const withAction = (action: string) => applicable.filter((p) => (p.spec?.action ?? 'ALLOW') === action);
  const matching = (action: string) =>
    withAction(action).filter((p) =>
      (p.spec?.rules ?? []).some((r: unknown) => ruleMatches(r, request, peer)),
    );
  const denied = matching('DENY');
  if (denied.length > 0) {
    return [
      `${request.what}: denied by AuthorizationPolicy ${denied.map((p) => p.metadata.name).join(', ')}`,
    ];
  }
  const allows = withAction('ALLOW');
  if (allows.length === 0 || matching('ALLOW').length > 0) return [];
  return [
    `${request.what}: no rule of AuthorizationPolicy ${allows.map((p) => p.metadata.name).join(', ')} allows ${request.method} ${request.path} on port ${request.port} from ${peer.principal ?? 'a peer without mesh identity'}`,
  ];
}
