import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerAudience } from '@soundgood/event-catalog';
import { requestToken } from '@soundgood/monthly-report/broker-token';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kustomize } from '../lib/manifests.js';
import { kubectl, resetCluster, runDir, server } from './cluster.js';

// The monthly-report function's token for the broker (functions/monthly-report/src/broker-token.ts):
// a Function cannot mount a projected token, so it asks the API server with the TokenRequest API,
// as the ServiceAccount and RBAC of k8s/functions allow. Here against the real kube-apiserver.
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
  // k8s/functions as Flux applies it: the Function, its ServiceAccount, Role and RoleBinding.
  const objects = kustomize('k8s/functions');
  kubectl(['apply', '--server-side', '-f', '-'], objects.map((o) => `---\n${stringify(o)}`).join(''));
  kubectl(['create', 'serviceaccount', 'intruder', '-n', namespace]);
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
