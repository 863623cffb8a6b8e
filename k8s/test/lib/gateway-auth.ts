// People's bearer tokens at the public gateway (k8s/infrastructure/configs/gateway-auth.yaml): what
// must hold for every request through it to carry a valid token of the services' own issuer.
import type { K8sObject } from './manifests.js';

/** A manifest's field: arbitrary YAML, as K8sObject's own fields. */
type Yaml = K8sObject['spec'];

const subset = (labels: Record<string, string> = {}, of: Record<string, string> = {}) =>
  Object.keys(labels).length > 0 && Object.entries(labels).every(([k, v]) => of[k] === v);

/** A path that a VirtualService match selects: the prefix or exact path, or a sample of the regex. */
export function samplePath(uri: { prefix?: string; exact?: string; regex?: string }): string | undefined {
  if (uri.exact) return uri.exact;
  if (uri.prefix) return `${uri.prefix.replace(/\/$/, '')}/sample`;
  if (uri.regex) {
    const sample = uri.regex
      .replace(/^\^/, '')
      .replace(/\$$/, '')
      .replace(/\(\/\.\*\)\?/g, '')
      .replace(/\[\^\/\]\+/g, 'sample');
    return new RegExp(uri.regex).test(sample) ? sample : undefined;
  }
  return undefined;
}

/** Istio's path matching in an AuthorizationPolicy operation: exact, `prefix*`, `*suffix`, `*`. */
function istioPathMatches(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return path.endsWith(pattern.slice(1));
  return pattern === path;
}

/**
 * Problems of the public gateway's token checks against the services' OIDC settings (the
 * soundgood-environment ConfigMap), each naming the object and the field.
 */
export function gatewayAuthProblems(objects: K8sObject[], gatewayRef = 'istio-ingress/public'): string[] {
  const problems: string[] = [];
  const [namespace, name] = gatewayRef.split('/') as [string, string];
  const gateway = objects.find(
    (o) => o.kind === 'Gateway' && o.metadata.name === name && o.metadata.namespace === namespace,
  );
  if (!gateway) return [`no Gateway ${gatewayRef}`];
  const gatewayLabels = gateway.spec.selector as Record<string, string>;
  const onGateway = (o: K8sObject) =>
    o.metadata.namespace === namespace && subset(o.spec?.selector?.matchLabels, gatewayLabels);

  const environment = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === 'soundgood-environment',
  );
  const oidc = (environment?.data ?? {}) as Record<string, string>;
  if (!oidc.OIDC_ISSUER || !oidc.OIDC_AUDIENCE) {
    problems.push('ConfigMap soundgood-environment: sets no OIDC_ISSUER or no OIDC_AUDIENCE');
  }

  const authentications = objects.filter((o) => o.kind === 'RequestAuthentication' && onGateway(o));
  const rules = authentications.flatMap((ra) =>
    ((ra.spec.jwtRules ?? []) as Record<string, unknown>[]).map((rule) => ({ ra, rule })),
  );
  const match = rules.find(({ rule }) => rule.issuer === oidc.OIDC_ISSUER);
  if (!match) {
    problems.push(
      `no RequestAuthentication on the gateway ${gatewayRef} accepts the services' issuer ${oidc.OIDC_ISSUER} (it has: ${
        rules.map(({ rule }) => String(rule.issuer)).join(', ') || 'none'
      })`,
    );
  } else {
    const what = `RequestAuthentication ${match.ra.metadata.name}, issuer ${oidc.OIDC_ISSUER}`;
    const { rule } = match;
    if (oidc.OIDC_JWKS_URI && rule.jwksUri !== oidc.OIDC_JWKS_URI) {
      problems.push(
        `${what}: jwksUri ${String(rule.jwksUri)} is not the services' OIDC_JWKS_URI ${oidc.OIDC_JWKS_URI}`,
      );
    }
    if (!oidc.OIDC_JWKS_URI && !rule.jwksUri) {
      problems.push(`${what}: no jwksUri, and the services set no OIDC_JWKS_URI to compare with`);
    }
    if (!((rule.audiences ?? []) as string[]).includes(oidc.OIDC_AUDIENCE as string)) {
      problems.push(
        `${what}: audiences ${JSON.stringify(rule.audiences ?? [])} lack the services' ${oidc.OIDC_AUDIENCE}`,
      );
    }
    if (rule.forwardOriginalToken !== true) {
      problems.push(`${what}: forwardOriginalToken is not true: the services would get no token to verify`);
    }
  }

  // A request without a token passes a RequestAuthentication: a DENY policy must stop it, on every route.
  const denials = objects
    .filter((o) => o.kind === 'AuthorizationPolicy' && onGateway(o) && o.spec.action === 'DENY')
    .flatMap((policy) => (policy.spec.rules ?? []) as Yaml[])
    .filter((rule) =>
      (rule.from ?? []).some((from: Yaml) =>
        ((from.source?.notRequestPrincipals ?? []) as string[]).includes('*'),
      ),
    );
  const covered = (path: string) =>
    denials.some(
      (rule) =>
        !rule.to ||
        (rule.to as Yaml[]).some(
          (to) =>
            !to.operation?.paths || (to.operation.paths as string[]).some((p) => istioPathMatches(p, path)),
        ),
    );
  const routes = objects
    .filter((o) => o.kind === 'VirtualService' && ((o.spec.gateways ?? []) as string[]).includes(gatewayRef))
    .flatMap((vs) =>
      ((vs.spec.http ?? []) as Yaml[]).flatMap((route) =>
        ((route.match ?? [{ uri: { prefix: '/' } }]) as Yaml[]).map((m) => ({
          vs,
          uri: m.uri ?? { prefix: '/' },
        })),
      ),
    );
  if (routes.length === 0) problems.push(`no VirtualService routes through ${gatewayRef}`);
  for (const { vs, uri } of routes) {
    const path = samplePath(uri);
    if (!path)
      problems.push(`VirtualService ${vs.metadata.name}: cannot sample the route ${JSON.stringify(uri)}`);
    else if (!covered(path)) {
      problems.push(
        `VirtualService ${vs.metadata.name}: ${JSON.stringify(uri)} (e.g. ${path}) is reachable through ${gatewayRef} without a token: no DENY policy with notRequestPrincipals ["*"] covers it`,
      );
    }
  }

  // The services verify again, so each needs the issuer.
  for (const deployment of objects.filter(
    (o) =>
      o.kind === 'Deployment' &&
      o.metadata.namespace === 'soundgood' &&
      o.spec?.template?.metadata?.labels?.['soundgood.dev/service'],
  )) {
    for (const container of deployment.spec.template.spec.containers as Yaml[]) {
      const names = new Set(((container.env ?? []) as { name: string }[]).map((e) => e.name));
      for (const variable of ['OIDC_ISSUER', 'OIDC_AUDIENCE']) {
        if (!names.has(variable))
          problems.push(`Deployment ${deployment.metadata.name}/${container.name}: no ${variable}`);
      }
    }
  }
  return problems;
}
