import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayAuthProblems, samplePath } from './lib/gateway-auth.js';
import { environments, fluxCluster, parseYamlObjects } from './lib/manifests.js';

describe.each(environments)("people's bearer tokens at the public gateway in %s", (env) => {
  const cluster = fluxCluster(env);
  const everything = [...cluster.entry, ...cluster.layers.flatMap((l) => l.objects)];

  it("requires a valid token of the services' own issuer, JWKS and audience on every public route, forwarded to the services", () => {
    expect(gatewayAuthProblems(everything)).toEqual([]);
  });

  it('patches the issuer per environment: each environment has its own', () => {
    const issuer = (name: string) =>
      fluxCluster(name as typeof env)
        .layers.flatMap((l) => l.objects)
        .find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'soundgood-environment')?.data.OIDC_ISSUER;
    const others = environments.filter((e) => e !== env).map(issuer);
    expect(others).not.toContain(issuer(env));
  });
});

describe('the gateway token check catches broken manifests', () => {
  const objects = parseYamlObjects(
    readFileSync(join(import.meta.dirname, 'fixtures', 'gateway-auth-broken.yaml'), 'utf8'),
  );

  it('reports a foreign JWKS, a missing audience, a dropped token, an uncovered route and a service without the issuer', () => {
    expect(gatewayAuthProblems(objects)).toEqual([
      "RequestAuthentication public-api-jwt, issuer https://login.example/realms/soundgood: jwksUri https://elsewhere.example/certs is not the services' OIDC_JWKS_URI https://login.example/realms/soundgood/certs",
      'RequestAuthentication public-api-jwt, issuer https://login.example/realms/soundgood: audiences ["another"] lack the services\' soundgood',
      'RequestAuthentication public-api-jwt, issuer https://login.example/realms/soundgood: forwardOriginalToken is not true: the services would get no token to verify',
      'VirtualService public-api: {"regex":"^/students/[^/]+/notifications(/.*)?$"} (e.g. /students/sample/notifications) is reachable through istio-ingress/public without a token: no DENY policy with notRequestPrincipals ["*"] covers it',
      'VirtualService public-api: {"prefix":"/instruments"} (e.g. /instruments/sample) is reachable through istio-ingress/public without a token: no DENY policy with notRequestPrincipals ["*"] covers it',
      'Deployment rentals/app: no OIDC_ISSUER',
    ]);
  });

  it('samples each kind of route match', () => {
    expect(samplePath({ prefix: '/rentals' })).toBe('/rentals/sample');
    expect(samplePath({ exact: '/sagas' })).toBe('/sagas');
    expect(samplePath({ regex: '^/students/[^/]+/notifications(/.*)?$' })).toBe(
      '/students/sample/notifications',
    );
  });
});
