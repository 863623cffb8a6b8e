// vitest globalSetup of the cluster project: builds the control plane if needed (cold: tens of minutes on two
// cores, warm: seconds), starts it on an empty etcd, installs the vendored CRDs, keeps that state as the
// one resetCluster() returns to, and stops everything after the run. A missing toolchain or a failed
// build fails the run; nothing is skipped.
import { ensureBinaries } from './build.js';
import { installCrds, snapshotCluster, startCluster, stopCluster } from './cluster.js';

export async function setup(): Promise<void> {
  ensureBinaries();
  await startCluster();
  installCrds();
  await snapshotCluster();
}

export async function teardown(): Promise<void> {
  await stopCluster();
}
