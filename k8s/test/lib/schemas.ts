import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { K8sObject } from './manifests.js';

const schemasDir = join(import.meta.dirname, '../../schemas');
const coreDir = join(schemasDir, 'kubernetes/v1.34.0-local-strict');
const crdDir = join(schemasDir, 'crds');
const objectMetaRef =
  'https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

type Schema = Record<string, unknown>;

function isRecord(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A CRD's structural OpenAPI v3 schema as a JSON schema, with the API server's rules: objects with
 * `properties` reject unknown fields unless `x-kubernetes-preserve-unknown-fields`, int-or-string
 * accepts both, `nullable` admits null. Descriptions, defaults and formats only inform and are dropped.
 * Inside `oneOf`/`anyOf`/`allOf`/`not` (value validations, which by the structural-schema rules say
 * nothing about which fields exist) `properties` only constrain the fields they name: no
 * `additionalProperties: false` is added there (`inLogic`).
 */
export function convertOpenApiSchema(node: unknown, inLogic = false): unknown {
  if (Array.isArray(node)) return node.map((child) => convertOpenApiSchema(child, inLogic));
  if (!isRecord(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || ['format', 'default', 'nullable', 'description'].includes(key)) continue;
    if (key === 'properties' || key === '$defs') {
      out[key] = Object.fromEntries(
        Object.entries(value as Schema).map(([name, child]) => [
          name,
          convertOpenApiSchema(child, inLogic && key === 'properties'),
        ]),
      );
    } else if (['not', 'oneOf', 'anyOf', 'allOf'].includes(key)) {
      out[key] = convertOpenApiSchema(value, true);
    } else if (['items', 'additionalProperties'].includes(key)) {
      out[key] = convertOpenApiSchema(value, inLogic);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (
    node.properties &&
    !inLogic &&
    node['x-kubernetes-preserve-unknown-fields'] !== true &&
    !('additionalProperties' in node)
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** The root schema of a custom resource: apiVersion and kind fixed, Kubernetes ObjectMeta, the vendored spec. */
function customResourceSchema(apiVersion: string, kind: string, spec: Schema): Schema {
  const { $defs, ...specSchema } = convertOpenApiSchema(spec) as Schema;
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: { $ref: objectMetaRef },
      spec: specSchema,
    },
    additionalProperties: false,
    ...($defs ? { $defs } : {}),
  };
}

export interface SchemaValidator {
  /** The `apiVersion/kind` pairs that have a vendored schema. */
  kinds(): string[];
  /** Problems of one object; an object of a kind without a schema is a problem too. */
  validate(object: K8sObject): string[];
}

export function loadSchemas(): SchemaValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, allowUnionTypes: true });
  const validators = new Map<string, ValidateFunction>();

  ajv.addSchema(JSON.parse(readFileSync(join(coreDir, '_definitions.json'), 'utf8')));
  for (const file of readdirSync(coreDir).filter((f) => f !== '_definitions.json')) {
    const schema = JSON.parse(readFileSync(join(coreDir, file), 'utf8'));
    for (const gvk of schema['x-kubernetes-group-version-kind'] as {
      group: string;
      version: string;
      kind: string;
    }[]) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      // The upstream schemas make apiVersion/kind optional (nullable); a manifest must state both.
      validators.set(
        `${apiVersion}/${gvk.kind}`,
        ajv.compile({ ...schema, required: ['apiVersion', 'kind', 'metadata'] }),
      );
    }
  }
  for (const file of readdirSync(crdDir)) {
    const match = /^(.+)_(v[^_]+)_([A-Za-z]+)\.json$/.exec(file);
    if (!match) throw new Error(`unexpected schema file name ${file} (group_version_Kind.json)`);
    const [, group, version, kind] = match as unknown as [string, string, string, string];
    const apiVersion = `${group}/${version}`;
    const spec = JSON.parse(readFileSync(join(crdDir, file), 'utf8'));
    validators.set(`${apiVersion}/${kind}`, ajv.compile(customResourceSchema(apiVersion, kind, spec)));
  }

  return {
    kinds: () => [...validators.keys()].sort(),
    validate(object) {
      const validate = validators.get(`${object.apiVersion}/${object.kind}`);
      if (!validate) return [`no schema for ${object.apiVersion} ${object.kind}`];
      if (validate(object)) return [];
      return (validate.errors ?? []).map(describe);
    },
  };
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') {
    return `${where}: unknown field ${(error.params as { additionalProperty: string }).additionalProperty}`;
  }
  return `${where}: ${error.message}`;
}
