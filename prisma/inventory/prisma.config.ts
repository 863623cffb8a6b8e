import { defineConfig } from 'prisma/config';

// Paths are relative to this file. DATABASE_URL names this service's own database; it is read with
// process.env rather than env() so that `prisma generate` also works where no database is configured.
export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL },
});
