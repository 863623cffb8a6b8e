/**
 * Writes k8s/schemas/upstream-releases.yaml: what upstream really publishes for the charts and release
 * assets that the repository makes a controller fetch (Helm repositories' charts and versions, GitHub release
 * assets of the Knative Operator's additionalManifests, the Eventing versions the operator ships), read
 * from the upstream sources named below. k8s/test/releases.test.ts checks every such URL against it
 * offline (CI has no network).
 *
 * It also writes k8s/schemas/charts/<chart>/<version>/: the default values.yaml and, where the chart has one,
 * the values.schema.json that Helm validates a release's values against at install, of each chart the
 * repository installs, at exactly the pinned version (`chartSources` below).
 *
 *   node k8s/scripts/upstream-releases.ts   # needs the repository snapshots of the `fetch` tool (MIRROR_DIR)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';

const mirrorDir = process.env.MIRROR_DIR ?? '/work/.mirror';
/** How many of a chart's newest versions the table keeps (the pins are the newest; older ones for context). */
const keep = 12;

function git(repository: string, ...args: string[]): string {
  const dir = join(mirrorDir, repository.replace('/', '+'), 'repo');
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

function describe(repository: string, ref: string): string {
  const [commit, date] = git(repository, 'log', '-1', '--format=%H %cs', ref).trim().split(' ');
  return `${repository} ${ref} at ${commit} (${date})`;
}

function tags(repository: string, pattern: RegExp): string[] {
  return git(repository, 'tag', '-l', '--sort=-v:refname')
    .split('\n')
    .filter((t) => pattern.test(t));
}

interface IndexSource {
  url: string;
  repository: string;
  /** A Helm repository index.yaml in git (the chart repository's published index). */
  index?: { ref: string; path: string };
  /** chart-releaser tags `<chart>-<version>`: each is a GitHub release with `<chart>-<version>.tgz`. */
  chartTags?: boolean;
  /** A release tag per chart version; the chart's name from its Chart.yaml at the tag. */
  releaseTags?: { pattern: RegExp; charts: string[] };
  /**
   * Charts published from a branch (the repository's CI publishes each chart version that lands
   * there) whose index.yaml is not in the snapshot: the version each Chart.yaml has at `ref`.
   */
  chartYamls?: { ref: string; paths: string[] };
  charts: string[];
}

const helmSources: IndexSource[] = [
  {
    url: 'https://istio-release.storage.googleapis.com/charts',
    repository: 'istio/istio',
    // Istio's release pipeline publishes every chart of manifests/charts at the release's version.
    releaseTags: {
      pattern: /^1\.(29|3\d)\.\d+$/,
      charts: [
        'manifests/charts/base/Chart.yaml',
        'manifests/charts/istio-control/istio-discovery/Chart.yaml',
        'manifests/charts/gateway/Chart.yaml',
      ],
    },
    charts: ['base', 'istiod', 'gateway'],
  },
  {
    url: 'https://knative.github.io/operator',
    repository: 'knative/operator',
    index: { ref: 'gh-pages', path: 'index.yaml' },
    charts: ['knative-operator'],
  },
  {
    url: 'https://strimzi.io/charts/',
    repository: 'strimzi/strimzi.github.io',
    index: { ref: 'HEAD', path: 'charts/index.yaml' },
    charts: ['strimzi-kafka-operator'],
  },
  {
    url: 'https://cloudnative-pg.github.io/charts',
    repository: 'cloudnative-pg/charts',
    index: { ref: 'gh-pages', path: 'index.yaml' },
    charts: ['cloudnative-pg'],
  },
  {
    url: 'https://flagger.app',
    repository: 'fluxcd/flagger',
    index: { ref: 'gh-pages', path: 'index.yaml' },
    charts: ['flagger', 'loadtester'],
  },
  {
    url: 'https://prometheus-community.github.io/helm-charts',
    repository: 'prometheus-community/helm-charts',
    chartTags: true, // the gh-pages index.yaml is not in the snapshot
    charts: ['prometheus'],
  },
  {
    url: 'https://open-telemetry.github.io/opentelemetry-helm-charts',
    repository: 'open-telemetry/opentelemetry-helm-charts',
    index: { ref: 'gh-pages', path: 'index.yaml' },
    charts: ['opentelemetry-collector'],
  },
  {
    url: 'https://openfaas.github.io/faas-netes/',
    repository: 'openfaas/faas-netes',
    // gh-pages (the published index.yaml) is not in the snapshot; faas-netes tags are the controller's.
    chartYamls: { ref: 'master', paths: ['chart/openfaas/Chart.yaml', 'chart/cron-connector/Chart.yaml'] },
    charts: ['openfaas', 'cron-connector'],
  },
];

function helmRepository(source: IndexSource) {
  const charts: Record<string, { version: string; appVersion?: string }[]> = {};
  let from: string;
  if (source.index) {
    from = `${describe(source.repository, source.index.ref)}: ${source.index.path}`;
    const index = parseYaml(git(source.repository, 'show', `${source.index.ref}:${source.index.path}`)) as {
      entries: Record<string, { version: string; appVersion?: string }[]>;
    };
    for (const chart of source.charts) {
      charts[chart] = (index.entries[chart] ?? [])
        .slice(0, keep)
        .map(({ version, appVersion }) => ({ version: String(version), appVersion: String(appVersion) }));
    }
  } else if (source.chartYamls) {
    const { ref, paths } = source.chartYamls;
    from = `${describe(source.repository, ref)}: ${paths.join(', ')} (one version per chart)`;
    for (const path of paths) {
      const { name, version, appVersion } = parseYaml(git(source.repository, 'show', `${ref}:${path}`)) as {
        name: string;
        version: string;
        appVersion?: string;
      };
      charts[name] = [
        { version: String(version), ...(appVersion ? { appVersion: String(appVersion) } : {}) },
      ];
    }
  } else if (source.chartTags) {
    from = `${source.repository}: chart-releaser tags <chart>-<version>`;
    for (const chart of source.charts) {
      charts[chart] = tags(source.repository, new RegExp(`^${chart}-\\d+\\.\\d+\\.\\d+$`))
        .slice(0, keep)
        .map((t) => ({ version: t.slice(chart.length + 1) }));
    }
  } else {
    const releaseTags = source.releaseTags as NonNullable<IndexSource['releaseTags']>;
    from = `${source.repository}: release tags, chart names from ${releaseTags.charts.join(', ')} at each tag`;
    for (const tag of tags(source.repository, releaseTags.pattern).slice(0, keep)) {
      for (const path of releaseTags.charts) {
        const { name } = parseYaml(git(source.repository, 'show', `${tag}:${path}`)) as { name: string };
        charts[name] = [...(charts[name] ?? []), { version: tag }];
      }
    }
  }
  return { url: source.url, from, charts };
}

interface AssetSource {
  repository: string;
  tagPattern: RegExp;
  /** The file of the release script that names the published assets, and how it names them. */
  script: string;
  assetLine: RegExp;
  /** A tag the snapshot does not have yet, read from a branch instead: stated as such in the table. */
  unverified?: { tag: string; ref: string; reason: string };
}

const assetSources: AssetSource[] = [
  {
    repository: 'knative-extensions/eventing-kafka-broker',
    tagPattern: /^knative-v1\.2[2-9]\.\d+$/,
    // hack/release.sh publishes every artifact that hack/artifacts-env.sh names (ARTIFACTS_TO_PUBLISH).
    script: 'hack/artifacts-env.sh',
    assetLine: /^export EVENTING_KAFKA_(?:\w+_)?ARTIFACT="([^"]+)"/gm,
  },
  {
    repository: 'knative-extensions/eventing-istio',
    tagPattern: /^knative-v1\.2[2-9]\.\d+$/,
    script: 'hack/release.sh',
    assetLine: /^readonly EVENTING_ISTIO_ARTIFACT="([^"]+)"/gm,
    unverified: {
      tag: 'knative-v1.23.0',
      ref: 'main',
      reason:
        'the snapshot (main of 2026-07-02) predates the 1.23 release; eventing-istio has tagged every ' +
        'Knative minor from knative-v1.11.0 to knative-v1.22.0 with this one asset',
    },
  },
];

function releaseAssets(source: AssetSource) {
  const assets = (ref: string) =>
    [...git(source.repository, 'show', `${ref}:${source.script}`).matchAll(source.assetLine)].map(
      (m) => m[1],
    );
  const releases: Record<string, string[]> = {};
  for (const tag of tags(source.repository, source.tagPattern)) releases[tag] = assets(tag) as string[];
  const unverified = source.unverified && {
    tag: source.unverified.tag,
    from: describe(source.repository, source.unverified.ref),
    reason: source.unverified.reason,
    assets: assets(source.unverified.ref),
  };
  return {
    repository: source.repository,
    from: `${source.repository} ${source.script} at each release tag`,
    releases,
    ...(unverified ? { unverified } : {}),
  };
}

/** The Knative Eventing releases each Knative Operator release ships (cmd/operator/kodata/knative-eventing). */
function operatorEventingVersions() {
  const out: Record<string, string[]> = {};
  for (const tag of tags('knative/operator', /^knative-v1\.2[2-9]\.\d+$/)) {
    out[tag.replace('knative-', '')] = git(
      'knative/operator',
      'ls-tree',
      '--name-only',
      `${tag}:cmd/operator/kodata/knative-eventing`,
    )
      .split('\n')
      .filter(Boolean);
  }
  return { from: 'knative/operator cmd/operator/kodata/knative-eventing at each release tag', chart: out };
}

const table = {
  helmRepositories: helmSources.map(helmRepository),
  releaseAssets: assetSources.map(releaseAssets),
  knativeOperatorEventing: operatorEventingVersions(),
};
const header =
  '# Generated by `node k8s/scripts/upstream-releases.ts` from the upstream sources named in each `from`;\n' +
  '# do not edit. What k8s/test/releases.test.ts checks every fetched URL against.\n';
writeFileSync(
  join(import.meta.dirname, '../schemas/upstream-releases.yaml'),
  header + stringify(table, { lineWidth: 0 }),
);

/** The charts the repository installs, at their pinned versions, and where their source is at that release. */
const chartSources: { chart: string; version: string; repository: string; ref: string; dir: string }[] = [
  {
    chart: 'base',
    version: '1.30.3',
    repository: 'istio/istio',
    ref: '1.30.3',
    dir: 'manifests/charts/base',
  },
  {
    chart: 'istiod',
    version: '1.30.3',
    repository: 'istio/istio',
    ref: '1.30.3',
    dir: 'manifests/charts/istio-control/istio-discovery',
  },
  {
    chart: 'gateway',
    version: '1.30.3',
    repository: 'istio/istio',
    ref: '1.30.3',
    dir: 'manifests/charts/gateway',
  },
  {
    chart: 'knative-operator',
    version: 'v1.23.0',
    repository: 'knative/operator',
    ref: 'knative-v1.23.0',
    dir: 'config/charts/knative-operator',
  },
  {
    chart: 'strimzi-kafka-operator',
    version: '1.2.0',
    repository: 'strimzi/strimzi-kafka-operator',
    ref: '1.2.0',
    dir: 'packaging/helm-charts/helm3/strimzi-kafka-operator',
  },
  {
    chart: 'cloudnative-pg',
    version: '0.29.0',
    repository: 'cloudnative-pg/charts',
    ref: 'cloudnative-pg-v0.29.0',
    dir: 'charts/cloudnative-pg',
  },
  {
    chart: 'flagger',
    version: '1.44.0',
    repository: 'fluxcd/flagger',
    ref: 'v1.44.0',
    dir: 'charts/flagger',
  },
  // the loadtester chart's 0.36.0 is the one of Flagger 1.42.0
  {
    chart: 'loadtester',
    version: '0.36.0',
    repository: 'fluxcd/flagger',
    ref: 'v1.42.0',
    dir: 'charts/loadtester',
  },
  {
    chart: 'prometheus',
    version: '29.27.0',
    repository: 'prometheus-community/helm-charts',
    ref: 'prometheus-29.27.0',
    dir: 'charts/prometheus',
  },
  {
    chart: 'opentelemetry-collector',
    version: '0.170.0',
    repository: 'open-telemetry/opentelemetry-helm-charts',
    ref: 'opentelemetry-collector-0.170.0',
    dir: 'charts/opentelemetry-collector',
  },
  // faas-netes master at the commit k8s/crd-sources.yaml pins: the charts' versions there
  {
    chart: 'openfaas',
    version: '15.0.6',
    repository: 'openfaas/faas-netes',
    ref: '662ce9ce36ec4a32467773c308807bd5d58f5ae6',
    dir: 'chart/openfaas',
  },
  {
    chart: 'cron-connector',
    version: '0.6.16',
    repository: 'openfaas/faas-netes',
    ref: '662ce9ce36ec4a32467773c308807bd5d58f5ae6',
    dir: 'chart/cron-connector',
  },
];

const chartsDir = join(import.meta.dirname, '../schemas/charts');
rmSync(chartsDir, { recursive: true, force: true });
for (const source of chartSources) {
  const files = git(source.repository, 'ls-tree', '--name-only', `${source.ref}:${source.dir}`).split('\n');
  const chartYaml = parseYaml(git(source.repository, 'show', `${source.ref}:${source.dir}/Chart.yaml`), {
    logLevel: 'error',
  }) as {
    name: string;
    version: string;
  };
  // Strimzi's and the Knative Operator's release builds write the version into Chart.yaml
  if (chartYaml.name !== source.chart)
    throw new Error(`${source.dir} at ${source.ref} is chart ${chartYaml.name}`);
  const out = join(chartsDir, source.chart, source.version);
  mkdirSync(out, { recursive: true });
  for (const file of ['values.yaml', 'values.schema.json'].filter((f) => files.includes(f))) {
    writeFileSync(join(out, file), git(source.repository, 'show', `${source.ref}:${source.dir}/${file}`));
  }
  writeFileSync(join(out, 'SOURCE'), `${describe(source.repository, source.ref)}: ${source.dir}\n`);
}
