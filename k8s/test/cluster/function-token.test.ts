import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerAudience } from '@soundgood/event-catalog';
import { requestToken } from '@soundgood/monthly-report/broker-token';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kustomize } from '../lib/manifests.js';
import { kubectl, resetCluster, runDir, server } from './cluster.js';

// The monthly-report function's token for the broker (functions/monthly-report/src/broker-token.ts): it
// asks the API server with the TokenRequest API, as the ServiceAccount and RBAC of k8s/functions allow
// (written when it was an OpenFaaS Function, which cannot mount a projected token; it still works with
// OpenFaaS Pro's Function, k8s/components/openfaas-pro-function). Here against the real kube-apiserver,
// with the pod that runs: k8s/functions' Deployment, as faas-netes CE finds it (test/lib/functions.ts).
const namespace = 'openfaas-fn';
const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    aud: string[];
    sub: string;
  };

/** What Kubernetes mounts into a pod of `account`: its token (API server audience), the CA, the namespace. */
function podMount(account: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sa-${account}-`));
  writeFileSync(join(dir, 'token'), kubectl(['create', 'token', account, '-n', namespace]).trim());
  writeFileSync(join(dir, 'ca.crt'), readFileSync(join(runDir, 'pki', 'ca.crt')));
  writeFileSync(join(dir, 'namespace'), namespace);
  return dir;
}

beforeAll(async () => {
  await resetCluster();
  kubectl(
    ['apply', '--server-side', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
  );
  // k8s/functions as Flux applies it: the Deployment and Service, its ServiceAccount, Role and RoleBinding.
  const objects = kustomize('k8s/functions');
  kubectl(['apply', '--server-side', '-f', '-'], objects.map((o) => `---\n${stringify(o)}`).join(''));
  kubectl(['create', 'serviceaccount', 'intruder', '-n', namespace]);
});

/**
 * Polls kubectl until `read` returns something, or fails naming what it last saw. Until the object is
 * there, kubectl's jsonpath fails on the missing index (`array index out of bounds`): that is "not yet".
 */
async function eventually(read: () => string, what: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 60; i++) {
    try {
      last = read().trim();
    } catch (error) {
      last = (error as Error).message.split('\n')[0] ?? '';
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (last) return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${what}: nothing after 60 s (last: ${JSON.stringify(last)})`);
}

describe('the monthly-report function’s pod', () => {
  it('runs as the ServiceAccount the token, the EventPolicy and the mesh rules name, behind its Service', async () => {
    // faas-netes CE lists the Deployments labelled faas_function (pkg/handlers/reader.go) ...
    const listed = kubectl(['get', 'deployments', '-n', namespace, '-l', 'faas_function', '-o', 'name']);
    expect(listed.trim()).toBe('deployment.apps/monthly-report');
    const pod = await eventually(
      () =>
        kubectl([
          'get',
          'pods',
          '-n',
          namespace,
          '-l',
          'faas_function=monthly-report',
          '--field-selector',
          'status.phase=Running',
          '-o',
          'jsonpath={.items[0].metadata.name} {.items[0].spec.serviceAccountName} {.items[0].status.podIP}',
        ]),
      'a Running pod of monthly-report',
    );
    const [, account, ip] = pod.split(' ');
    expect(account).toBe('monthly-report');
    // ... and proxies to <address of the Service's Endpoints>:8080 (pkg/k8s/proxy.go Resolve).
    const address = await eventually(
      () =>
        kubectl([
          'get',
          'endpoints',
          'monthly-report',
          '-n',
          namespace,
          '-o',
          'jsonpath={.subsets[0].addresses[0].ip}',
        ]),
      'a ready address in the Endpoints of Service monthly-report',
    );
    expect(address).toBe(ip);
  });
});

describe('the monthly-report function’s broker token', () => {
  it('is its own ServiceAccount’s, for the Broker’s audience, from the TokenRequest API', async () => {
    const { token, expiresAt } = await requestToken({
      audience: brokerAudience(),
      accountDir: podMount('monthly-report'),
      apiServer: server,
    });
    expect(claims(token)).toMatchObject({
      aud: [brokerAudience()],
      sub: 'system:serviceaccount:openfaas-fn:monthly-report', // the catalog's EventPolicy names this
    });
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(9 * 60_000);
  });

  it('is refused to a ServiceAccount the Role does not name', async () => {
    await expect(
      requestToken({ audience: brokerAudience(), accountDir: podMount('intruder'), apiServer: server }),
    ).rejects.toThrow(/TokenRequest for openfaas-fn\/intruder answered 403/);
  });
});
