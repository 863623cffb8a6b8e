import { describe, expect, test } from 'vitest';
import { migrationChecksum, serviceDatabaseUrl } from './migrate.js';

describe('serviceDatabaseUrl', () => {
  test('points at the service database on the same server, keeping credentials and options', () => {
    expect(
      serviceDatabaseUrl('postgresql://app:s3cret@db.internal:5432/postgres?sslmode=require', 'billing'),
    ).toBe('postgresql://app:s3cret@db.internal:5432/soundgood_billing?sslmode=require');
  });

  test('uses the given database name instead of the default', () => {
    expect(
      serviceDatabaseUrl('postgresql://postgres@127.0.0.1:55432/postgres', 'rentals', 'rentals_test_1'),
    ).toBe('postgresql://postgres@127.0.0.1:55432/rentals_test_1');
  });
});

describe('migrationChecksum', () => {
  test('is the zero-padded sha256 hex of the script, as Prisma stores it', () => {
    expect(migrationChecksum('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
