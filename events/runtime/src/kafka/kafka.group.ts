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

/**
 * Removes the members of `groupIds` that a former process of this very instance left behind: those
 * whose client id is `clientId`, before this process joins. Kafka's static membership would let the
 * restarted process take its predecessor's place; kafkajs lacks it, so this does it by hand. The
 * client id must name the instance (host and port: only one live process can hold them), so that no
 * live member is ever removed. Best effort, within `timeoutMs`: at worst the group waits out the dead
 * member's session, as without it.
 */
export async function removeFormerMembers(
  kafka: Kafka,
  groupIds: string[],
  clientId: string,
  timeoutMs = 3_000,
): Promise<string[]> {
  const work = async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups(groupIds);
      const former = groups.flatMap((g) =>
        g.members
          .filter((m) => m.clientId === clientId)
          .map((m) => ({ groupId: g.groupId, memberId: m.memberId })),
      );
      await Promise.all(former.map((m) => removeGroupMember(kafka, m.groupId, m.memberId)));
      return former.map((m) => m.groupId);
    } finally {
      await admin.disconnect();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), timeoutMs);
  });
  try {
    return await Promise.race([work().catch(() => []), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
