/**
 * Writes schemas/crds/<group>_<version>_<Kind>.json from an upstream CustomResourceDefinition: the
 * `spec` part of the version's `openAPIV3Schema`, complete, with only the `description` fields removed
 * (the test's `convertOpenApiSchema` turns the rest into a JSON schema; `status` is not allowed in
 * manifests and is not kept). The input is a YAML file with one or more documents (a release's CRD
 * file or a chart's `crds/` file); other kinds in it are ignored.
 *
 *   node k8s/scripts/vendor-crd-schema.ts <crd.yaml> <Kind> <version> [<Kind> <version> ...]
 *
 * Record the source (repository, path, commit or release) in schemas/VERSIONS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

type Schema = Record<string, unknown>;

const [file, ...pairs] = process.argv.slice(2);
if (!file || pairs.length === 0 || pairs.length % 2 !== 0) {
  throw new Error('usage: vendor-crd-schema.ts <crd.yaml> <Kind> <version> [<Kind> <version> ...]');
}

function isRecord(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schema without `description`; names under `properties` are field names and are all kept. */
function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (!isRecord(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description') continue;
    out[key] =
      key === 'properties' && isRecord(value)
        ? Object.fromEntries(Object.entries(value).map(([name, child]) => [name, strip(child)]))
        : strip(value);
  }
  return out;
}

const crds = parseAllDocuments(readFileSync(file, 'utf8'))
  .map((doc) => doc.toJS() as unknown)
  .filter((doc): doc is Schema => isRecord(doc) && doc.kind === 'CustomResourceDefinition');

for (let i = 0; i < pairs.length; i += 2) {
  const [kind, version] = [pairs[i] as string, pairs[i + 1] as string];
  const crd = crds.find((c) => (c.spec as { names: { kind: string } }).names.kind === kind);
  if (!crd) throw new Error(`${file}: no CustomResourceDefinition of kind ${kind}`);
  const spec = crd.spec as { group: string; versions: { name: string; schema?: Schema }[] };
  const openApi = spec.versions.find((v) => v.name === version)?.schema?.openAPIV3Schema as
    | { properties?: { spec?: Schema } }
    | undefined;
  const specSchema = openApi?.properties?.spec;
  if (!specSchema) throw new Error(`${file}: ${kind} has no ${version} schema with a spec`);
  const out = join(import.meta.dirname, '../schemas/crds', `${spec.group}_${version}_${kind}.json`);
  writeFileSync(out, `${JSON.stringify(strip(specSchema), null, 1)}\n`);
  console.log(`${out}: ${JSON.stringify(strip(specSchema)).length} characters`);
}
