export {
  applyMigrations,
  createDatabase,
  listServices,
  migrationChecksum,
  migrationsFolder,
  prepareServiceDatabase,
  readMigrations,
  serviceDatabaseUrl,
} from './migrate.js';
