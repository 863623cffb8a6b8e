/**
 * What OpenFaaS Community Edition needs of a function we deploy ourselves (k8s/functions), read from
 * openfaas/faas-netes at the chart pinned in k8s/infrastructure/controllers/openfaas.yaml (chart 15.0.6,
 * faas-netes 0.18.17), and its agreement with the function's stack.yml:
 * - pkg/handlers/reader.go getServiceList, pkg/k8s/function_list.go: the functions are the Deployments of
 *   functionNamespace with a `faas_function` label; pkg/handlers/replica_reader.go getService: the one
 *   named like the function.
 * - pkg/k8s/function_status.go AsFunctionStatus: image of containers[0], replicas and available replicas,
 *   and the labels and annotations of the pod template (spec.template.metadata), which the gateway hands
 *   to the cron-connector (openfaas/cron-connector types/cron_function.go ToCronFunction reads `topic`
 *   = "cron-function", main.go, and `schedule` from them).
 * - pkg/k8s/proxy.go Resolve: the Endpoints of the Service named like the function in its namespace,
 *   and `http://<address IP>:8080` (watchdogPort, a constant): the container must listen on 8080.
 * - pkg/k8s/secrets.go: a function's secrets are files under /var/openfaas/secrets.
 */
import type { K8sObject } from './manifests.js';

export interface StackFunction {
  image: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  environment?: Record<string, string>;
  secrets?: string[];
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

const watchdogPort = 8080;
const cronTopic = 'cron-function';
const secretsMountPath = '/var/openfaas/secrets';
/** Annotations only the OpenFaaS Pro operator reads; on CE the Deployment says it (serviceAccountName). */
const proOnly = ['com.openfaas.serviceaccount'];

/** Problems that keep faas-netes CE from serving Deployment `name` of `objects` as the function in stack.yml. */
export function servedByFaasNetes(
  objects: K8sObject[],
  name: string,
  functionNamespace: string,
  stack: StackFunction,
): string[] {
  const problems: string[] = [];
  const say = (what: string) => problems.push(`function ${name}: ${what}`);
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.name === name && o.metadata.namespace === functionNamespace,
  );
  if (!deployment) return [`function ${name}: no Deployment ${functionNamespace}/${name}`];
  if (deployment.metadata.labels?.faas_function === undefined)
    say('the Deployment has no faas_function label (reader.go lists by it)');
  const template = deployment.spec.template;
  const labels: Record<string, string> = template.metadata?.labels ?? {};
  const annotations: Record<string, string> = template.metadata?.annotations ?? {};
  const container = template.spec.containers[0];

  if (!(container.ports ?? []).some((p: { containerPort: number }) => p.containerPort === watchdogPort))
    say(`containers[0] does not listen on ${watchdogPort} (proxy.go calls <pod IP>:${watchdogPort})`);
  const service = objects.find(
    (o) => o.kind === 'Service' && o.metadata.name === name && o.metadata.namespace === functionNamespace,
  );
  if (!service) say(`no Service ${functionNamespace}/${name} (proxy.go resolves its Endpoints)`);
  else {
    const selector: Record<string, string> = service.spec.selector ?? {};
    if (Object.keys(selector).length === 0 || !Object.entries(selector).every(([k, v]) => labels[k] === v))
      say('the Service does not select the pods of the Deployment');
  }

  // The template's annotations and labels are what the gateway and the cron-connector see.
  for (const [key, value] of Object.entries(stack.annotations ?? {})) {
    if (proOnly.includes(key)) continue;
    if (annotations[key] !== value)
      say(`pod template annotation ${key} is ${annotations[key]}, stack.yml says ${value}`);
  }
  if (stack.annotations?.topic !== undefined && annotations.topic !== cronTopic)
    say(`topic ${annotations.topic} is not the cron-connector's ${cronTopic}`);
  for (const [key, value] of Object.entries(stack.labels ?? {}))
    if (labels[key] !== value) say(`pod template label ${key} is ${labels[key]}, stack.yml says ${value}`);

  const image = String(container.image ?? '');
  if (image.split(':')[0] !== stack.image.split(':')[0])
    say(`image ${image} is not stack.yml's ${stack.image.split(':')[0]}`);
  const env = new Map<string, string | undefined>(
    (container.env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value]),
  );
  for (const [key, value] of Object.entries(stack.environment ?? {}))
    if (env.get(key) !== value) say(`env ${key} is ${env.get(key)}, stack.yml says ${value}`);

  const mount = (container.volumeMounts ?? []).find(
    (m: { mountPath: string }) => m.mountPath === secretsMountPath,
  );
  const volume = mount && (template.spec.volumes ?? []).find((v: { name: string }) => v.name === mount.name);
  const mounted = new Set<string>(
    volume?.projected?.sources?.map((s: { secret?: { name: string } }) => s.secret?.name) ??
      (volume?.secret ? [volume.secret.secretName] : []),
  );
  for (const secret of stack.secrets ?? [])
    if (!mounted.has(secret)) say(`secret ${secret} is not mounted at ${secretsMountPath}`);

  for (const [kind, wanted] of [
    ['requests', stack.requests],
    ['limits', stack.limits],
  ] as const)
    for (const [resource, value] of Object.entries(wanted ?? {}))
      if (container.resources?.[kind]?.[resource] !== value)
        say(`${kind}.${resource} is ${container.resources?.[kind]?.[resource]}, stack.yml says ${value}`);

  // What CE could not do: the pod runs as the account the Pro annotation names.
  const account = stack.annotations?.['com.openfaas.serviceaccount'];
  if (account && template.spec.serviceAccountName !== account)
    say(`runs as ${template.spec.serviceAccountName}, not ${account}`);
  if (
    account &&
    !objects.some(
      (o) =>
        o.kind === 'ServiceAccount' &&
        o.metadata.name === account &&
        o.metadata.namespace === functionNamespace,
    )
  )
    say(`ServiceAccount ${functionNamespace}/${account} does not exist`);
  return problems;
}
