#!/usr/bin/env node
// Usage: DATABASE_URL=postgresql://.../postgres soundgood-migrate [service ...]
// Creates soundgood_<service> on that server for each service (default: all) and applies its migrations.
import { applyMigrations, createDatabase, listServices, serviceDatabaseUrl } from './migrate.js';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  console.error('soundgood-migrate: DATABASE_URL is not set (a server-level PostgreSQL URL)');
  process.exit(2);
}

const known = await listServices();
const requested = process.argv.slice(2);
const unknown = requested.filter((service) => !known.includes(service));
if (unknown.length > 0) {
  console.error(`soundgood-migrate: unknown service ${unknown.join(', ')} (known: ${known.join(', ')})`);
  process.exit(2);
}

for (const service of requested.length > 0 ? requested : known) {
  const database = `soundgood_${service}`;
  await createDatabase(serverUrl, database);
  const applied = await applyMigrations(serviceDatabaseUrl(serverUrl, service, database), service);
  console.log(`${database}: ${applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date'}`);
}
