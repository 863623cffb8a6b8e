import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environments, fluxCluster, type K8sObject, parseYamlObjects } from './lib/manifests.js';
import { authzRefuses, type MeshRequest, mtlsMode, mtlsRefuses } from './lib/mesh.js';
import { networkPolicyRefuses } from './lib/network-policies.js';
import { platformRequests } from './lib/platform-requests.js';

const fixture = (name: string) =>
  parseYamlObjects(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));

describe.each(environments)("Istio and the platform's own requests in %s", (env) => {
  const cluster = fluxCluster(env);
  const everything = [...cluster.entry, ...cluster.layers.flatMap((l) => l.objects)];
  const { requests, problems } = platformRequests(everything);

  it('follows every request of the platform (probes, deliveries, publishing, webhooks, gateway routes) to a pod', () => {
    expect(problems).toEqual([]);
    const what = requests.map((r) => r.what);
    for (const kind of [
      'the API server calls the admission webhook',
      'kafka-controller probes',
      'dispatcher delivers',
      'publishes',
      'Flagger calls webhook',
      'loadtester runs',
      'ingress gateway routes',
      'Prometheus scrapes',
      'kubelet probes',
      'function monthly-report reads', // the CE Deployment of k8s/functions, as its own ServiceAccount
    ]) {
      expect(
        what.some((w) => w.includes(kind)),
        kind,
      ).toBe(true);
    }
  });

  it("lets every caller from outside the mesh through the callee's PeerAuthentication", () => {
    expect(requests.flatMap((r) => mtlsRefuses(r, everything))).toEqual([]);
  });

  it("lets every request of the platform through the callee's NetworkPolicies", () => {
    expect(requests.flatMap((r) => networkPolicyRefuses(r, everything))).toEqual([]);
  });

  it('lets every request of the platform through the AuthorizationPolicies, by their ALLOW/DENY semantics', () => {
    expect(requests.flatMap((r) => authzRefuses(r, everything))).toEqual([]);
  });
});

describe('the mesh checks catch broken manifests', () => {
  const objects = fixture('mesh-broken.yaml');
  const { requests } = platformRequests(objects);

  it("reports the Kafka controller's probe denied by a POST-only broker ingress policy", () => {
    expect(requests.flatMap((r) => authzRefuses(r, objects))).toEqual([
      'kafka-controller probes Broker default -> knative-eventing/kafka-broker-receiver: no rule of AuthorizationPolicy kafka-broker-receiver allows GET /soundgood/default on port 8080 from cluster.local/ns/knative-eventing/sa/kafka-controller',
    ]);
  });

  it('reports Flagger calling a loadtester under STRICT mTLS, an unmerged scrape, webhooks under STRICT and an unrewritten kubelet probe', () => {
    expect(requests.flatMap((r) => mtlsRefuses(r, objects))).toEqual([
      'Flagger calls webhook ledger/acceptance-test -> soundgood/flagger-loadtester: plaintext from outside the mesh, PeerAuthentication is STRICT on port 8080',
      'the API server calls the admission webhook eventing-webhook: plaintext from outside the mesh, PeerAuthentication is STRICT on port 8443',
      'the API server calls the admission webhook kafka-webhook-eventing: plaintext from outside the mesh, PeerAuthentication is STRICT on port 8443',
      'Prometheus scrapes ledger: plaintext from outside the mesh, PeerAuthentication is STRICT on port 9464',
      'kubelet probes ledger/app /readyz: plaintext from outside the mesh, PeerAuthentication is STRICT on port 8080',
    ]);
  });
});

describe('the NetworkPolicy check catches a broken policy', () => {
  it('reports a policy that names the Service port instead of the pod port', () => {
    const objects = fixture('mesh-broken.yaml');
    const { requests } = platformRequests(objects);
    expect(requests.flatMap((r) => networkPolicyRefuses(r, objects))).toEqual([
      'Flagger calls webhook ledger/acceptance-test -> soundgood/flagger-loadtester: no NetworkPolicy of loadtester-from-flagger admits istio-system/{"app.kubernetes.io/name":"flagger"} on port 8080',
    ]);
  });
});

describe("Istio's semantics as evaluated offline", () => {
  const meshed = (name: string): K8sObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'istio-injection': 'enabled' } },
  });
  const policy = (
    namespace: string,
    name: string,
    spec: object,
    kind = 'AuthorizationPolicy',
  ): K8sObject => ({
    apiVersion: 'security.istio.io/v1',
    kind,
    metadata: { name, namespace },
    spec,
  });
  const request = (over: Partial<MeshRequest> = {}): MeshRequest => ({
    what: 'r',
    from: { namespace: 'a', labels: {}, serviceAccount: 'caller' },
    to: { namespace: 'b', labels: { app: 'x' } },
    port: 8080,
    method: 'GET',
    path: '/p',
    ...over,
  });
  const base = [meshed('a'), meshed('b')];

  it('allows anything without an ALLOW policy, and only what a rule matches with one', () => {
    expect(authzRefuses(request(), base)).toEqual([]);
    const allowPost = policy('b', 'only-post', { rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });
    expect(authzRefuses(request(), [...base, allowPost])).toHaveLength(1);
    expect(authzRefuses(request({ method: 'POST' }), [...base, allowPost])).toEqual([]);
  });

  it('lets a DENY match win over an ALLOW match, and applies root-namespace policies everywhere', () => {
    const allowAll = policy('b', 'all', { rules: [{}] });
    const deny = policy('istio-system', 'deny-p', {
      action: 'DENY',
      rules: [{ to: [{ operation: { paths: ['/p*'] } }] }],
    });
    expect(authzRefuses(request(), [...base, allowAll])).toEqual([]);
    expect(authzRefuses(request(), [...base, allowAll, deny])).toEqual([
      'r: denied by AuthorizationPolicy deny-p',
    ]);
  });

  it('matches service accounts as <namespace>/<name>, and refuses to guess at fields it does not evaluate', () => {
    const bySa = policy('b', 'sa', { rules: [{ from: [{ source: { serviceAccounts: ['a/caller'] } }] }] });
    expect(authzRefuses(request(), [...base, bySa])).toEqual([]);
    expect(
      authzRefuses(request({ from: { namespace: 'a', labels: {}, serviceAccount: 'other' } }), [
        ...base,
        bySa,
      ]),
    ).toHaveLength(1);
    const byIp = policy('b', 'ip', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] }] });
    expect(() => authzRefuses(request(), [...base, byIp])).toThrow(
      'source field ipBlocks is not evaluated offline',
    );
  });

  it('matches principals only over mTLS, and ignores policies whose selector does not match', () => {
    const byPrincipal = policy('b', 'caller', {
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/a/sa/caller'] } }] }],
    });
    expect(authzRefuses(request(), [...base, byPrincipal])).toEqual([]);
    expect(authzRefuses(request(), [meshed('b'), byPrincipal])).toHaveLength(1); // caller without sidecar
    const elsewhere = policy('b', 'other', { selector: { matchLabels: { app: 'y' } }, rules: [] });
    expect(authzRefuses(request(), [...base, elsewhere])).toEqual([]);
  });

  it('takes the port-level, then workload, then namespace, then mesh-wide PeerAuthentication mode', () => {
    const to = { namespace: 'b', labels: { app: 'x' } };
    const mesh = policy('istio-system', 'mesh', { mtls: { mode: 'STRICT' } }, 'PeerAuthentication');
    const ns = policy('b', 'ns', { mtls: { mode: 'PERMISSIVE' } }, 'PeerAuthentication');
    const workload = policy(
      'b',
      'x',
      {
        selector: { matchLabels: { app: 'x' } },
        mtls: { mode: 'UNSET' },
        portLevelMtls: { '9090': { mode: 'DISABLE' } },
      },
      'PeerAuthentication',
    );
    expect(mtlsMode(to, 8080, [])).toBe('PERMISSIVE');
    expect(mtlsMode(to, 8080, [mesh])).toBe('STRICT');
    expect(mtlsMode(to, 8080, [mesh, ns])).toBe('PERMISSIVE');
    expect(mtlsMode(to, 8080, [mesh, workload])).toBe('STRICT');
    expect(mtlsMode(to, 9090, [mesh, ns, workload])).toBe('DISABLE');
  });
});
