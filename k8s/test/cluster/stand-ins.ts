// Stand-ins for what a real cluster has and this one cannot: each does exactly what the missing piece
// would do to the objects kustomize-controller looks at, and nothing more. (The GitRepository is no
// longer one: the real source-controller clones git-server.ts's repository.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { kubeconfig } from './cluster.js';

const execFileAsync = promisify(execFile);

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
