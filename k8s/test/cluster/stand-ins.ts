// Stand-ins for what a real cluster has and this one cannot: each does exactly what the missing piece
// would do to the objects kustomize-controller looks at, and nothing more.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { repoRoot } from '../lib/manifests.js';
import { kubeconfig, kubectl } from './cluster.js';

const execFileAsync = promisify(execFile);

export interface Artifact {
  url: string;
  revision: string;
  digest: string;
  size: number;
  close(): Promise<void>;
}

/**
 * source-controller's part: the repository as a tar.gz artifact served over HTTP on loopback, as
 * source-controller serves what it cloned (kustomize-controller downloads `status.artifact.url`, checks
 * `digest`, untars it and builds `spec.path` from it). The working tree's flux/ and k8s/, so the test
 * reconciles what is being tested, committed or not.
 */
export async function serveArtifact(): Promise<Artifact> {
  const tarball = execFileSync(
    'tar',
    ['-czf', '-', '--exclude=node_modules', '-C', repoRoot, 'flux', 'k8s'],
    {
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const digest = `sha256:${createHash('sha256').update(tarball).digest('hex')}`;
  const commit = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const path = `/gitrepository/flux-system/flux-system/${commit}.tar.gz`;
  const server = createServer((req, res) => {
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': tarball.length }).end(tarball);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    // source-controller's revision format for a branch: <branch>@sha1:<commit>.
    revision: `main@sha1:${commit}`,
    digest,
    size: tarball.length,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}

const ready = (generation: number, message: string) => ({
  observedGeneration: generation,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message,
      observedGeneration: generation,
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  ],
});

/** The GitRepository's status as source-controller writes it once it has stored an artifact. */
export function publishArtifact(namespace: string, name: string, artifact: Artifact): void {
  const generation = Number(
    kubectl(['get', 'gitrepository', name, '-n', namespace, '-o', 'jsonpath={.metadata.generation}']),
  );
  const status = {
    ...ready(generation, `stored artifact for revision '${artifact.revision}'`),
    artifact: {
      path: new URL(artifact.url).pathname.replace(/^\//, ''),
      url: artifact.url,
      revision: artifact.revision,
      digest: artifact.digest,
      size: artifact.size,
      lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
  kubectl([
    'patch',
    'gitrepository',
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

interface Listed {
  items: {
    kind: string;
    metadata: { name: string; namespace: string; generation: number };
    status?: ReturnType<typeof ready>;
  }[];
}

/**
 * helm-controller's and source-controller's part for Helm: no chart can be fetched here, so every
 * HelmRepository and HelmRelease is marked Ready at its generation as soon as it appears. What the
 * charts would install is not there (their CRDs come from k8s/crds). Returns a function that stops it.
 */
export function markHelmObjectsReady(): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      await markOnce().catch((error: Error) => process.stderr.write(`helm stand-in: ${error.message}\n`));
      await new Promise((next) => setTimeout(next, 1000));
    }
  })();
  async function markOnce(): Promise<void> {
    const { stdout } = await execFileAsync(
      'kubectl',
      [
        '--kubeconfig',
        kubeconfig,
        'get',
        'helmrepositories.source.toolkit.fluxcd.io,helmreleases.helm.toolkit.fluxcd.io',
        '-A',
        '-o',
        'json',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    for (const item of (JSON.parse(stdout) as Listed).items) {
      const { name, namespace, generation } = item.metadata;
      const isReady =
        item.status?.observedGeneration === generation &&
        item.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (isReady) continue;
      const resource =
        item.kind === 'HelmRelease'
          ? 'helmreleases.helm.toolkit.fluxcd.io'
          : 'helmrepositories.source.toolkit.fluxcd.io';
      const status = ready(
        generation,
        `stand-in: ${item.kind} marked Ready by the test (no chart can be fetched here)`,
      );
      await execFileAsync('kubectl', [
        '--kubeconfig',
        kubeconfig,
        'patch',
        resource,
        name,
        '-n',
        namespace,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]);
    }
  }
  return async () => {
    running = false;
    await loop;
  };
}
