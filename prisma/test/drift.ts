// Compares a Prisma schema with a live PostgreSQL database, offline: the schema is parsed by Prisma's
// wasm (getDMMF) and the database is read from pg_catalog. Prisma's own differ needs the schema engine,
// which cannot be installed here.
import internals from '@prisma/internals';
import type pg from 'pg';
import { connect } from './database.js';

type Datamodel = Awaited<ReturnType<typeof internals.getDMMF>>['datamodel'];
type Model = Datamodel['models'][number];

interface Column {
  type: string;
  nullable: boolean;
  /** Canonical form: autoincrement(), now(), dbgenerated(), a literal's text in quotes, or null. */
  default: string | null;
}

interface Index {
  name: string;
  columns: string[];
  method: string;
}

interface ForeignKey {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

interface Table {
  columns: Map<string, Column>;
  primaryKey: Index | null;
  uniques: Index[];
  indexes: Index[];
  foreignKeys: ForeignKey[];
}

export interface DatabaseShape {
  tables: Map<string, Table>;
  enums: Map<string, string[]>;
}

const maxIdentifierLength = 63;

/** Every difference between what `datamodel` declares and what the database at `databaseUrl` holds. */
export async function findDrift(datamodel: string, databaseUrl: string): Promise<string[]> {
  const expected = await shapeFromSchema(datamodel);
  const client = await connect(databaseUrl);
  try {
    return compareShapes(expected, await shapeFromDatabase(client));
  } finally {
    await client.end();
  }
}

export async function shapeFromSchema(datamodel: string): Promise<DatabaseShape> {
  const dmmf = (await internals.getDMMF({ datamodel })).datamodel;
  const tableOf = new Map(dmmf.models.map((model) => [model.name, model.dbName ?? model.name]));
  const enumNames = new Map(dmmf.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const enums = new Map(dmmf.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]));

  const explicitRelations = new Set(
    dmmf.models.flatMap((model) =>
      model.fields.filter((f) => f.relationFromFields?.length).map((f) => f.relationName),
    ),
  );
  const tables = new Map<string, Table>();
  for (const model of dmmf.models) {
    const table = model.dbName ?? model.name;
    const columnOf = (fieldName: string) => columnName(model, fieldName);
    const columns = new Map<string, Column>();
    const foreignKeys: ForeignKey[] = [];
    for (const field of model.fields) {
      if (field.kind === 'object') {
        if (!explicitRelations.has(field.relationName)) {
          throw new Error(
            `${model.name}.${field.name}: implicit many-to-many relations are not covered by the drift check; model the join table explicitly`,
          );
        }
        const from = field.relationFromFields ?? [];
        if (from.length === 0) continue;
        const target = dmmf.models.find((m) => m.name === field.type);
        if (!target) throw new Error(`${model.name}.${field.name}: unknown related model ${field.type}`);
        const required = from.every((name) => model.fields.find((f) => f.name === name)?.isRequired);
        foreignKeys.push({
          columns: from.map(columnOf),
          referencedTable: tableOf.get(target.name) ?? target.name,
          referencedColumns: (field.relationToFields ?? []).map((name) => columnName(target, name)),
          onDelete: field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull'),
          onUpdate: field.relationOnUpdate ?? 'Cascade',
        });
        continue;
      }
      const base =
        field.kind === 'enum' ? (enumNames.get(field.type) ?? field.type) : postgresType(model, field);
      columns.set(field.dbName ?? field.name, {
        type: field.isList ? `${base}[]` : base,
        nullable: !field.isRequired,
        default: schemaDefault(field, dmmf),
      });
    }

    const indexes = dmmf.indexes.filter((index) => index.model === model.name);
    const toIndex = (index: (typeof indexes)[number], suffix: string): Index => {
      const names = index.fields.map((f) => columnOf(f.name));
      return {
        name: index.dbName ?? defaultIndexName(table, names, suffix),
        columns: index.fields.map((f) => `${columnOf(f.name)}${f.sortOrder === 'desc' ? ' DESC' : ''}`),
        method: (index.algorithm ?? 'BTree').toLowerCase(),
      };
    };
    const primary = indexes.find((index) => index.type === 'id');
    tables.set(table, {
      columns,
      primaryKey: primary
        ? {
            ...toIndex(primary, ''),
            name: primary.dbName ?? `${truncate(table, maxIdentifierLength - 5)}_pkey`,
          }
        : null,
      uniques: indexes.filter((index) => index.type === 'unique').map((index) => toIndex(index, '_key')),
      indexes: indexes.filter((index) => index.type === 'normal').map((index) => toIndex(index, '_idx')),
      foreignKeys,
    });
  }
  return { tables, enums };
}

function columnName(model: Model, fieldName: string): string {
  const field = model.fields.find((f) => f.name === fieldName);
  if (!field) throw new Error(`${model.name}: unknown field ${fieldName}`);
  return field.dbName ?? field.name;
}

// Prisma's default constraint names (psl ConstraintNames): {table}_{columns}{suffix}, cut to 63 bytes.
function defaultIndexName(table: string, columns: string[], suffix: string): string {
  return `${truncate(`${table}_${columns.join('_')}`, maxIdentifierLength - suffix.length)}${suffix}`;
}

function truncate(name: string, bytes: number): string {
  let out = name;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

// Prisma's types as PostgreSQL's format_type() prints them; `#` stands for the `@db.X(...)` arguments.
const scalarTypes: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};
const nativeTypes: Record<string, string> = {
  Text: 'text',
  VarChar: 'character varying#',
  Char: 'character#',
  Uuid: 'uuid',
  Xml: 'xml',
  Inet: 'inet',
  Citext: 'citext',
  Bit: 'bit#',
  VarBit: 'bit varying#',
  SmallInt: 'smallint',
  Integer: 'integer',
  Oid: 'oid',
  BigInt: 'bigint',
  Real: 'real',
  DoublePrecision: 'double precision',
  Decimal: 'numeric#',
  Money: 'money',
  Timestamp: 'timestamp# without time zone',
  Timestamptz: 'timestamp# with time zone',
  Date: 'date',
  Time: 'time# without time zone',
  Timetz: 'time# with time zone',
  Json: 'json',
  JsonB: 'jsonb',
  ByteA: 'bytea',
};

function postgresType(model: Model, field: Model['fields'][number]): string {
  if (!field.nativeType) {
    const type = scalarTypes[field.type];
    if (!type)
      throw new Error(`${model.name}.${field.name}: type ${field.type} is not covered by the drift check`);
    return type;
  }
  const [native, args] = field.nativeType;
  const type = nativeTypes[native];
  if (!type) throw new Error(`${model.name}.${field.name}: @db.${native} is not covered by the drift check`);
  return type.replace('#', args.length > 0 ? `(${args.join(',')})` : '');
}

function schemaDefault(field: Model['fields'][number], dmmf: Datamodel): string | null {
  const value = field.default;
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value) && 'name' in value) {
    // uuid(), cuid(), nanoid(), ulid() are filled in by Prisma Client, not the database.
    if (['autoincrement', 'now', 'dbgenerated'].includes(value.name)) return `${value.name}()`;
    return null;
  }
  if (Array.isArray(value)) return 'dbgenerated()';
  if (field.kind === 'enum') {
    const values = dmmf.enums.find((e) => e.name === field.type)?.values ?? [];
    const match = values.find((v) => v.name === value);
    return `'${match?.dbName ?? String(value)}'`;
  }
  if (
    field.type === 'String' ||
    field.type === 'Boolean' ||
    ['Int', 'BigInt', 'Float', 'Decimal'].includes(field.type)
  ) {
    return `'${String(value)}'`;
  }
  // DateTime, Json and Bytes literals are printed differently by PostgreSQL: compare presence only.
  return 'dbgenerated()';
}

function databaseDefault(expression: string | null, type: string): string | null {
  if (expression === null) return null;
  if (expression.startsWith('nextval(')) return 'autoincrement()';
  if (expression === 'CURRENT_TIMESTAMP' || expression === 'now()') return 'now()';
  const isLiteralType = !/^(timestamp|time|date|json|bytea)/.test(type) && !type.endsWith('[]');
  if (isLiteralType) {
    const quoted = /^'((?:[^']|'')*)'(::.+)?$/.exec(expression);
    if (quoted) return `'${(quoted[1] ?? '').replaceAll("''", "'")}'`;
    if (/^-?[\d.]+$/.test(expression) || expression === 'true' || expression === 'false')
      return `'${expression}'`;
  }
  return 'dbgenerated()';
}

export async function shapeFromDatabase(client: pg.Client): Promise<DatabaseShape> {
  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    default: string | null;
  }>(`
    SELECT c.relname AS table, a.attname AS column, a.attnotnull = false AS nullable,
           pg_get_expr(d.adbin, d.adrelid) AS default,
           CASE WHEN et.typtype = 'e' THEN et.typname || CASE WHEN t.typcategory = 'A' THEN '[]' ELSE '' END
                ELSE format_type(a.atttypid, a.atttypmod) END AS type
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND c.relname <> '_prisma_migrations'
    ORDER BY c.relname, a.attnum`);
  const indexes = await client.query<{
    table: string;
    name: string;
    primary: boolean;
    unique: boolean;
    method: string;
    columns: string[];
  }>(`
    SELECT c.relname AS table, i.relname AS name, x.indisprimary AS primary, x.indisunique AS unique,
           am.amname AS method,
           array(SELECT a.attname || CASE WHEN x.indoption[k.ord - 1] & 1 = 1 THEN ' DESC' ELSE '' END
                 FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                 ORDER BY k.ord) AS columns
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_am am ON am.oid = i.relam
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relname <> '_prisma_migrations'`);
  const foreignKeys = await client.query<{
    table: string;
    columns: string[];
    referenced_table: string;
    referenced_columns: string[];
    on_delete: string;
    on_update: string;
  }>(`
    SELECT c.relname AS table, r.relname AS referenced_table,
           array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) AS columns,
           array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord)
             AS referenced_columns,
           k.confdeltype AS on_delete, k.confupdtype AS on_update
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_class r ON r.oid = k.confrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE k.contype = 'f' AND n.nspname = current_schema()`);
  const enumRows = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
    FROM pg_type t
    JOIN pg_enum e ON e.enumtypid = t.oid
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = current_schema()
    GROUP BY t.typname`);

  const tables = new Map<string, Table>();
  const tableNamed = (name: string): Table => {
    let table = tables.get(name);
    if (!table) {
      table = { columns: new Map(), primaryKey: null, uniques: [], indexes: [], foreignKeys: [] };
      tables.set(name, table);
    }
    return table;
  };
  for (const row of columns.rows) {
    tableNamed(row.table).columns.set(row.column, {
      type: row.type,
      nullable: row.nullable,
      default: databaseDefault(row.default, row.type),
    });
  }
  for (const row of indexes.rows) {
    const table = tableNamed(row.table);
    const index = { name: row.name, columns: row.columns, method: row.method };
    if (row.primary) table.primaryKey = index;
    else if (row.unique) table.uniques.push(index);
    else table.indexes.push(index);
  }
  const actions: Record<string, string> = {
    a: 'NoAction',
    r: 'Restrict',
    c: 'Cascade',
    n: 'SetNull',
    d: 'SetDefault',
  };
  for (const row of foreignKeys.rows) {
    tableNamed(row.table).foreignKeys.push({
      columns: row.columns,
      referencedTable: row.referenced_table,
      referencedColumns: row.referenced_columns,
      onDelete: actions[row.on_delete] ?? row.on_delete,
      onUpdate: actions[row.on_update] ?? row.on_update,
    });
  }
  return { tables, enums: new Map(enumRows.rows.map((row) => [row.name, row.values])) };
}

/** One message per difference, naming the table, the column or constraint, and both sides. */
export function compareShapes(schema: DatabaseShape, database: DatabaseShape): string[] {
  const problems: string[] = [];
  for (const [name, values] of schema.enums) {
    const actual = database.enums.get(name);
    if (!actual)
      problems.push(`enum ${name}: in schema.prisma (${values.join(', ')}) but not in the database`);
    else if ([...values].sort().join() !== [...actual].sort().join()) {
      problems.push(
        `enum ${name}: schema.prisma has ${values.join(', ')}, the database has ${actual.join(', ')}`,
      );
    }
  }
  for (const name of database.enums.keys()) {
    if (!schema.enums.has(name)) problems.push(`enum ${name}: in the database but not in schema.prisma`);
  }

  for (const [name, expected] of schema.tables) {
    const actual = database.tables.get(name);
    if (!actual) {
      problems.push(`table ${name}: in schema.prisma but not in the database`);
      continue;
    }
    problems.push(...compareTables(name, expected, actual));
  }
  for (const name of database.tables.keys()) {
    if (!schema.tables.has(name)) problems.push(`table ${name}: in the database but not in schema.prisma`);
  }
  return problems;
}

function compareTables(table: string, schema: Table, database: Table): string[] {
  const problems: string[] = [];
  for (const [name, expected] of schema.columns) {
    const actual = database.columns.get(name);
    const at = `table ${table}, column ${name}`;
    if (!actual) {
      problems.push(`${at}: in schema.prisma (${expected.type}) but not in the database`);
      continue;
    }
    if (expected.type !== actual.type) {
      problems.push(`${at}: type is ${expected.type} in schema.prisma, ${actual.type} in the database`);
    }
    // Prisma creates list columns without NOT NULL whatever the field says.
    if (!expected.type.endsWith('[]') && expected.nullable !== actual.nullable) {
      const nullability = (column: Column) => (column.nullable ? 'nullable' : 'NOT NULL');
      problems.push(
        `${at}: ${nullability(expected)} in schema.prisma, ${nullability(actual)} in the database`,
      );
    }
    const sameDefault =
      expected.default === actual.default ||
      (expected.default === 'dbgenerated()' && actual.default !== null) ||
      (actual.default === 'dbgenerated()' && expected.default !== null);
    if (!sameDefault) {
      problems.push(
        `${at}: default is ${expected.default ?? 'none'} in schema.prisma, ${actual.default ?? 'none'} in the database`,
      );
    }
  }
  for (const name of database.columns.keys()) {
    if (!schema.columns.has(name)) {
      problems.push(`table ${table}, column ${name}: in the database but not in schema.prisma`);
    }
  }

  const describe = (index: Index | null) =>
    index ? `${index.name} (${index.columns.join(', ')}) using ${index.method}` : 'none';
  if (describe(schema.primaryKey) !== describe(database.primaryKey)) {
    problems.push(
      `table ${table}, primary key: ${describe(schema.primaryKey)} in schema.prisma, ${describe(database.primaryKey)} in the database`,
    );
  }
  for (const [kind, expected, actual] of [
    ['unique index', schema.uniques, database.uniques],
    ['index', schema.indexes, database.indexes],
  ] as const) {
    const expectedSet = new Set(expected.map(describe));
    const actualSet = new Set(actual.map(describe));
    for (const index of expectedSet) {
      if (!actualSet.has(index))
        problems.push(`table ${table}, ${kind} ${index}: in schema.prisma but not in the database`);
    }
    for (const index of actualSet) {
      if (!expectedSet.has(index))
        problems.push(`table ${table}, ${kind} ${index}: in the database but not in schema.prisma`);
    }
  }

  // Relation `map:` names are not in the DMMF, so foreign keys are compared by their content.
  const describeKey = (key: ForeignKey) =>
    `(${key.columns.join(', ')}) -> ${key.referencedTable}(${key.referencedColumns.join(', ')}) on delete ${key.onDelete} on update ${key.onUpdate}`;
  const expectedKeys = new Set(schema.foreignKeys.map(describeKey));
  const actualKeys = new Set(database.foreignKeys.map(describeKey));
  for (const key of expectedKeys) {
    if (!actualKeys.has(key))
      problems.push(`table ${table}, foreign key ${key}: in schema.prisma but not in the database`);
  }
  for (const key of actualKeys) {
    if (!expectedKeys.has(key))
      problems.push(`table ${table}, foreign key ${key}: in the database but not in schema.prisma`);
  }
  return problems;
}
