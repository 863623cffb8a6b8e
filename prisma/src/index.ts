export {
  applyMigrations,
  createDatabase,
  listServices,
  migrationChecksum,
  prepareServiceDatabase,
  readMigrations,
  serviceDatabaseUrl,
} from './migrate.js';
