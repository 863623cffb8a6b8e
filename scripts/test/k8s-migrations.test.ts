// The migration Jobs in k8s/migrations run the migrate target of services/Dockerfile (the prisma CLI
// and the service's migrations), published as ghcr.io/soundgood/<service>-migrate: the service image
// has production dependencies only, so it has no prisma CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { containerConventions, soundgoodServices } from './compose.js';
import { repoRoot } from './tools.js';

type Job = {
  kind?: string;
  metadata?: { labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
};

it('runs every service migration Job from the service -migrate image', () => {
  const jobs = parseAllDocuments(readFileSync(join(repoRoot, 'k8s', 'migrations', 'jobs.yaml'), 'utf8'))
    .map((document) => document.toJS() as Job)
    .filter((object) => object?.kind === 'Job');
  const images = Object.fromEntries(
    jobs.map((job) => [
      job.metadata?.labels?.['soundgood.dev/migration'],
      job.spec?.template?.spec?.containers?.[0]?.image?.replace(/[:@].*$/, ''),
    ]),
  );
  expect(images).toEqual(
    Object.fromEntries(
      Object.keys(soundgoodServices).map((service) => [
        service,
        `${containerConventions.imageRepository(service)}-migrate`,
      ]),
    ),
  );
});
