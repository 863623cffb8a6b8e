/**
 * The function's token for the broker: with Knative's authentication-oidc, the broker ingress wants a
 * bearer token whose audience is the broker's, and the catalog's EventPolicy names the function's
 * ServiceAccount as the sender. The services mount such a token as a projected volume; a Function
 * (openfaas.com/v1) has no volumes, so the function asks the API server for one with the TokenRequest
 * API, authenticated by the ServiceAccount token Kubernetes mounts into every pod (RBAC: `create` on its
 * own `serviceaccounts/token`, k8s/functions).
 * https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

export interface TokenRequestOptions {
  /** The broker's OIDC audience, e.g. eventing.knative.dev/broker/soundgood/default. */
  audience: string;
  /** The pod's ServiceAccount mount: token, ca.crt, namespace. */
  accountDir: string;
  /** The API server, `https://host:port` (in a pod: KUBERNETES_SERVICE_HOST and _PORT). */
  apiServer: string;
  expirationSeconds?: number;
  timeoutMs?: number;
}

/** `system:serviceaccount:<namespace>:<name>` of a ServiceAccount token, read from its payload. */
export function serviceAccountOf(token: string): { namespace: string; name: string } {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    sub?: string;
  };
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(payload.sub ?? '');
  if (!match) throw new Error(`the mounted token is not a ServiceAccount's (sub ${payload.sub})`);
  return { namespace: match[1] as string, name: match[2] as string };
}

/** A fresh token of the pod's own ServiceAccount for `audience`, and when it expires. */
export async function requestToken(
  options: TokenRequestOptions,
): Promise<{ token: string; expiresAt: Date }> {
  const mounted = readFileSync(join(options.accountDir, 'token'), 'utf8').trim();
  const ca = readFileSync(join(options.accountDir, 'ca.crt'));
  const { namespace, name } = serviceAccountOf(mounted);
  const body = JSON.stringify({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: [options.audience], expirationSeconds: options.expirationSeconds ?? 600 },
  });
  const url = new URL(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, options.apiServer);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        headers: {
          authorization: `Bearer ${mounted}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          data += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`TokenRequest to ${url.origin} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
  if (status !== 201 && status !== 200)
    throw new Error(`TokenRequest for ${namespace}/${name} answered ${status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as { status: { token: string; expirationTimestamp: string } };
  return { token: answer.status.token, expiresAt: new Date(answer.status.expirationTimestamp) };
}

/** Reuses a token until a minute before it expires. */
export class BrokerToken {
  private cached: { token: string; expiresAt: Date } | undefined;

  constructor(private readonly options: TokenRequestOptions) {}

  async value(): Promise<string> {
    if (!this.cached || this.cached.expiresAt.getTime() - Date.now() < 60_000)
      this.cached = await requestToken(this.options);
    return this.cached.token;
  }
}
