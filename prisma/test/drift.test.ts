import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { applyMigrations } from '../src/migrate.js';
import { dropDatabase, freshDatabase } from './database.js';
import { findDrift } from './drift.js';

const prismaRoot = new URL('../', import.meta.url);
const fixtures = new URL('fixtures/', import.meta.url);

// Every prisma/<service>/schema.prisma, so a new service is checked without touching this test.
const services = (await readdir(prismaRoot, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory() && existsSync(new URL(`${entry.name}/schema.prisma`, prismaRoot)))
  .map((entry) => entry.name);

const databases: string[] = [];
afterAll(async () => {
  await Promise.all(databases.map(dropDatabase));
});

/** Migrates a fresh database with the migrations beside `schema.prisma` and returns the drift. */
async function driftOf(label: string, folder: URL): Promise<string[]> {
  const database = await freshDatabase(label);
  databases.push(database.name);
  await applyMigrations(database.url, label, new URL('migrations/', folder));
  return findDrift(await readFile(new URL('schema.prisma', folder), 'utf8'), database.url);
}

describe('migration drift', () => {
  test('finds a schema for every service', () => {
    expect(services).toEqual(
      expect.arrayContaining(['billing', 'inventory', 'notifications', 'rentals', 'students']),
    );
  });

  test.each(services)(
    'the migrations of %s build exactly the database its schema.prisma declares',
    async (service) => {
      expect(await driftOf(service, new URL(`${service}/`, prismaRoot))).toEqual([]);
    },
  );

  test('finds nothing when enums, relations, native types, defaults and index names (custom and cut to 63 bytes) agree', async () => {
    expect(await driftOf('matching', new URL('matching/', fixtures))).toEqual([]);
  });

  test('reports every way a migration can disagree with its schema, naming table, column and both sides', async () => {
    const drift = await driftOf('drifted', new URL('drifted/', fixtures));
    expect(drift.sort()).toEqual(
      [
        'enum rental_status: schema.prisma has REQUESTED, confirmed, ENDED, the database has REQUESTED, confirmed',
        'table students, column tags: in schema.prisma (text[]) but not in the database',
        'table students, column created_at: type is timestamp(3) without time zone in schema.prisma, timestamp(3) with time zone in the database',
        'table rentals, column instrument_id: NOT NULL in schema.prisma, nullable in the database',
        "table rentals, column priority: default is '0' in schema.prisma, none in the database",
        'table rentals, column legacy_code: in the database but not in schema.prisma',
        'table rentals, index rentals_starts_on_idx (starts_on DESC) using btree: in schema.prisma but not in the database',
        'table rentals, foreign key (student_id) -> students(id) on delete Cascade on update Cascade: in schema.prisma but not in the database',
        'table rentals, foreign key (student_id) -> students(id) on delete Restrict on update Cascade: in the database but not in schema.prisma',
        'table legacy: in the database but not in schema.prisma',
      ].sort(),
    );
  });
});
