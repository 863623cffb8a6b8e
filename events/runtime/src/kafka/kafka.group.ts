import type { Kafka } from 'kafkajs';

interface Coordinator {
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<Coordinator>;
}
type CreateCluster = (options: { allowAutoTopicCreation: boolean; metadataMaxAge: number }) => Cluster;

/**
 * Removes a member that is gone from its consumer group (a LeaveGroup on its behalf), so that the
 * group rebalances now instead of after the member's session timeout.
 *
 * Why: when kafkajs restarts a crashed consumer (the broker was away), the consumer joins again as
 * a new member; the coordinator keeps the old one, which never heartbeats again, until its session
 * expires, and the join waits for it. Kafka's answer is static membership (group.instance.id),
 * which kafkajs lacks; the old member id is known, though (the consumer's GROUP_JOIN event).
 * kafkajs has no public API for LeaveGroup, so this uses the cluster factory every kafkajs client
 * is built from (a private symbol of the Kafka instance). When it is not there (another kafkajs
 * version), this returns false and the group waits out the session, as before.
 *
 * Resolves true once the member is gone (or was unknown to the coordinator), false when it could not
 * ask; throws while the coordinator does not answer (the caller retries).
 */
export async function removeGroupMember(kafka: Kafka, groupId: string, memberId: string): Promise<boolean> {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const createCluster = symbol && (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof createCluster !== 'function') return false;
  const cluster = (createCluster as CreateCluster)({
    allowAutoTopicCreation: false,
    metadataMaxAge: 300_000,
  });
  await cluster.connect();
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    await coordinator.leaveGroup({ groupId, memberId });
    return true;
  } catch (error) {
    if ((error as { type?: string }).type === 'UNKNOWN_MEMBER_ID') return true;
    throw error;
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}
