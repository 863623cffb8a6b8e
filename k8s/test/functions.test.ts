import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type StackFunction, servedByFaasNetes } from './lib/functions.js';
import {
  environments,
  fluxCluster,
  type K8sObject,
  kustomize,
  parseYamlObjects,
  repoRoot,
} from './lib/manifests.js';
import { authzRefuses } from './lib/mesh.js';
import { networkPolicyRefuses } from './lib/network-policies.js';
import { platformRequests } from './lib/platform-requests.js';

// The monthly-report function on OpenFaaS CE: our own Deployment and Service in the function namespace,
// which faas-netes serves as the function (test/lib/functions.ts names the faas-netes sources), agreeing
// with functions/monthly-report/stack.yml; and the OpenFaaS Pro alternative, the Function resource of
// k8s/components/openfaas-pro-function, switched on by one line in an apps overlay. docs/faas.md.
const name = 'monthly-report';
const stack = (
  parse(readFileSync(join(repoRoot, 'functions/monthly-report/stack.yml'), 'utf8')) as {
    functions: Record<string, StackFunction>;
  }
).functions[name] as StackFunction;
const fixture = parseYamlObjects(
  readFileSync(join(import.meta.dirname, 'fixtures', 'functions-broken.yaml'), 'utf8'),
);

/** The apps overlay of `env` with the OpenFaaS Pro component added, as its README says to. */
function withProComponent(env: string): K8sObject[] {
  const apps = join(repoRoot, `k8s/environments/${env}/apps`);
  const dir = mkdtempSync(join(tmpdir(), `apps-pro-${env}-`));
  const kustomization = parse(readFileSync(join(apps, 'kustomization.yaml'), 'utf8'));
  kustomization.resources = kustomization.resources.map((r: string) => relative(dir, join(apps, r)));
  kustomization.components = [relative(dir, join(repoRoot, 'k8s/components/openfaas-pro-function'))];
  writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
  return parseYamlObjects(
    execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

describe.each(environments)('the monthly-report function in %s', (env) => {
  const app = kustomize(`k8s/environments/${env}/apps`);
  const cluster = fluxCluster(env);
  const everything = [...cluster.entry, ...cluster.layers.flatMap((l) => l.objects)];
  const openfaas = everything.find(
    (o) => o.kind === 'HelmRelease' && o.spec?.chart?.spec?.chart === 'openfaas',
  ) as K8sObject;
  const functionNamespace: string = openfaas.spec.values.functionNamespace ?? 'openfaas-fn';

  it('is a Deployment and Service that faas-netes CE serves as the function of stack.yml', () => {
    expect(functionNamespace).toBe('openfaas-fn');
    expect(servedByFaasNetes(app, name, functionNamespace, stack)).toEqual([]);
    // Nothing on CE reconciles a Function (the chart refuses operator.create without openfaasPro).
    expect(openfaas.spec.values.operator?.create).toBe(false);
    expect(app.filter((o) => o.kind === 'Function')).toEqual([]);
  });

  it('runs hardened, with the watchdog’s health endpoint as probes, publishing to the broker ingress', () => {
    const deployment = app.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as K8sObject;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    // of-watchdog writes /tmp/.lock and answers /_/health once the function process is up.
    const tmp = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: { name: string }) => v.name === tmp?.name)?.emptyDir).toEqual({});
    for (const probe of [container.readinessProbe, container.livenessProbe])
      expect(probe.httpGet).toEqual({ path: '/_/health', port: 'http' });
    expect(container.ports).toContainEqual({ name: 'http', containerPort: 8080 });
    expect(container.resources.requests.cpu && container.resources.limits.memory).toBeTruthy();
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    expect(env).toMatchObject({ mode: 'http', upstream_url: 'http://127.0.0.1:3000' });
    expect(env.K_SINK).toBe(
      'http://kafka-broker-ingress.knative-eventing.svc.cluster.local/soundgood/default',
    );
    expect(container.image).toMatch(/^ghcr\.io\/soundgood\/monthly-report:\d+\.\d+\.\d+/);
  });

  it('switches to the OpenFaaS Pro Function with the component: same image, schedule, environment, identity', () => {
    const pro = withProComponent(env);
    const ce = app.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as K8sObject;
    expect(
      pro.filter(
        (o) => ['Deployment', 'Service'].includes(o.kind) && o.metadata.namespace === functionNamespace,
      ),
    ).toEqual([]);
    const fn = pro.find((o) => o.kind === 'Function' && o.metadata.name === name) as K8sObject;
    expect(fn.metadata.namespace).toBe(functionNamespace);
    expect(fn.spec.image).toBe(ce.spec.template.spec.containers[0].image);
    expect(fn.spec.annotations).toEqual(stack.annotations);
    expect(fn.spec.labels).toMatchObject(stack.labels ?? {});
    expect(fn.spec.environment).toEqual(stack.environment);
    expect(fn.spec.secrets).toEqual(stack.secrets);
    expect({ requests: fn.spec.requests, limits: fn.spec.limits }).toEqual({
      requests: stack.requests,
      limits: stack.limits,
    });
    // Its reads and publishing, as its ServiceAccount (the Pro operator honours the annotation), pass
    // the mesh as the CE Deployment's do (mesh.test.ts).
    const layers = cluster.layers.filter((l) => l.kustomization.metadata.name !== 'apps');
    const objects = [...cluster.entry, ...layers.flatMap((l) => l.objects), ...pro];
    const { requests, problems } = platformRequests(objects);
    expect(problems).toEqual([]);
    const own = requests.filter((r) => r.what.startsWith(`function ${name} `));
    expect(own.some((r) => r.what.startsWith(`function ${name} publishes`))).toBe(true);
    expect(own.filter((r) => r.what.includes(' reads ')).length).toBeGreaterThan(0);
    expect(own.flatMap((r) => [...authzRefuses(r, objects), ...networkPolicyRefuses(r, objects)])).toEqual(
      [],
    );
  });
});

describe('the faas-netes CE check catches a broken function Deployment', () => {
  it('reports a missing label, the schedule on the Deployment instead of its pods, another port, no Service, no secret, the default ServiceAccount', () => {
    expect(servedByFaasNetes(fixture, name, 'openfaas-fn', stack)).toEqual([
      'function monthly-report: the Deployment has no faas_function label (reader.go lists by it)',
      'function monthly-report: containers[0] does not listen on 8080 (proxy.go calls <pod IP>:8080)',
      'function monthly-report: no Service openfaas-fn/monthly-report (proxy.go resolves its Endpoints)',
      'function monthly-report: pod template annotation topic is undefined, stack.yml says cron-function',
      'function monthly-report: pod template annotation schedule is undefined, stack.yml says 0 6 1 * *',
      "function monthly-report: topic undefined is not the cron-connector's cron-function",
      'function monthly-report: secret soundgood-staff-token is not mounted at /var/openfaas/secrets',
      'function monthly-report: runs as undefined, not monthly-report',
    ]);
  });
});
