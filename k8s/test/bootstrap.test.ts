import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sourcesFile } from '../scripts/vendor-crds.js';
import { bootstrapCommands, missingCrds } from './lib/bootstrap.js';
import { environments, fluxCluster, repoRoot } from './lib/manifests.js';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

/** The shell code blocks of a Markdown file, in order. */
const shellBlocks = (markdown: string) =>
  [...markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)].map((m) => m[1] as string).join('\n');

/** The `run:` scripts of a workflow's steps, in order, with the step names. */
function workflowRuns(path: string): { name: string; run: string }[] {
  const workflow = parse(read(path));
  return Object.values(
    workflow.jobs as Record<string, { steps: { name?: string; run?: string; uses?: string }[] }>,
  )
    .flatMap((job) => job.steps)
    .filter((step) => step.run)
    .map((step) => ({ name: step.name ?? '', run: step.run as string }));
}

const docs = shellBlocks(read('docs/cluster.md'));
const e2e = workflowRuns('.github/workflows/e2e.yml');
const e2eScript = e2e.map((s) => s.run).join('\n');

describe('the documented bootstrap', () => {
  const documented = bootstrapCommands(docs, 'docs/cluster.md');
  const tested = bootstrapCommands(e2eScript, '.github/workflows/e2e.yml');

  it('is one call of flux/bootstrap.sh in the docs and in the e2e workflow, for the same environment', () => {
    expect(documented.map((b) => [b.env, b.mode])).toEqual([['staging', 'github']]);
    expect(tested.map((b) => [b.env, b.mode])).toEqual([['staging', 'git']]);
  });

  it('installs the same Flux release with the same components in both modes, the release of the e2e CLI', () => {
    const shape = (b: (typeof documented)[number]) =>
      b.commands.map((c) => ({ version: c.version, components: [...c.components].sort() }));
    expect(shape(tested[0] as (typeof tested)[number])).toEqual(
      shape(documented[0] as (typeof documented)[number]),
    );
    const version = documented[0]?.commands[0]?.version;
    expect(version).toMatch(/^v2\.9\.\d+$/);
    const cli = parse(read('.github/workflows/e2e.yml')).jobs.kind.steps.find((s: { uses?: string }) =>
      s.uses?.startsWith('fluxcd/flux2/action@'),
    );
    expect(`v${cli.with.version}`).toBe(version);
    expect(readFileSync(sourcesFile, 'utf8')).toMatch(new RegExp(`^flux: ${version?.slice(1)}$`, 'm'));
  });

  it('creates the age key before the bootstrap, in the docs and in the e2e workflow', () => {
    for (const text of [docs, e2eScript]) {
      const key = text.indexOf('age-keygen');
      expect(key).toBeGreaterThanOrEqual(0);
      expect(key).toBeLessThan(text.indexOf('flux/bootstrap.sh'));
    }
  });

  it.each(environments)(
    'installs, with the layers before each Flux Kustomization of %s, every CRD it applies',
    (env) => {
      const { layers } = fluxCluster(env);
      for (const { commands } of [...documented, ...tested]) {
        expect(missingCrds(layers, commands)).toEqual([]);
      }
    },
  );
});

describe('the bootstrap checks catch broken setups', () => {
  const { layers } = fluxCluster('staging');

  it('reports a bootstrap without the image automation controllers (the image automation CRDs)', () => {
    const [broken] = bootstrapCommands(
      readFileSync(join(import.meta.dirname, 'fixtures', 'bootstrap-broken.sh'), 'utf8'),
      'bootstrap-broken.sh',
    );
    const components = 'source-controller, kustomize-controller, helm-controller, notification-controller';
    expect(missingCrds(layers, broken?.commands ?? [])).toEqual(
      ['ImagePolicy', 'ImageRepository', 'ImageUpdateAutomation'].map(
        (kind) =>
          `Kustomization flux-system applies image.toolkit.fluxcd.io/v1 ${kind}, whose CRD neither the bootstrap (${components}) nor a layer it depends on installs`,
      ),
    );
  });

  it('reports a layer applied before the layer that installs its CRDs, and every layer after it', () => {
    const [bootstrap] = bootstrapCommands(docs, 'docs/cluster.md');
    const components = bootstrap?.commands.flatMap((c) => c.components).join(', ');
    // infra-eventing no longer waits for infra-controllers: nothing after it has Istio, Strimzi, ... either.
    const reordered = layers.map((l) =>
      l.kustomization.metadata.name === 'infra-eventing'
        ? { ...l, kustomization: { ...l.kustomization, spec: { ...l.kustomization.spec, dependsOn: [] } } }
        : l,
    );
    expect(missingCrds(reordered, bootstrap?.commands ?? [])).toEqual(
      [
        'apps flagger.app/v1beta1 Canary',
        'apps flagger.app/v1beta1 MetricTemplate',
        'apps networking.istio.io/v1 VirtualService',
        'apps security.istio.io/v1 AuthorizationPolicy',
        'apps security.istio.io/v1 PeerAuthentication',
        'infra-configs kafka.strimzi.io/v1 Kafka',
        'infra-configs kafka.strimzi.io/v1 KafkaNodePool',
        'infra-configs networking.istio.io/v1 Gateway',
        'infra-configs postgresql.cnpg.io/v1 Cluster',
        'infra-configs security.istio.io/v1 AuthorizationPolicy',
        'infra-configs security.istio.io/v1 PeerAuthentication',
        'infra-configs security.istio.io/v1 RequestAuthentication',
        'infra-eventing operator.knative.dev/v1beta1 KnativeEventing',
      ].map((line) => {
        const [layer, apiVersion, kind] = line.split(' ');
        return `Kustomization ${layer} applies ${apiVersion} ${kind}, whose CRD neither the bootstrap (${components}) nor a layer it depends on installs`;
      }),
    );
  });
});
