import kafkajs, { type Kafka } from 'kafkajs';

// kafkajs is CommonJS, and Node's ESM loader cannot see this export by name (vitest's transform can).
const { ConfigResourceTypes } = kafkajs;

/**
 * Whether INBOX_RETENTION outlasts the redeliveries these topics still allow (docs/retention.md):
 * a record of the events topic can be read again for as long as the topic keeps it, and a dead
 * letter can be replayed for as long as its topic keeps it, after which the replayed copy lives a
 * full events-topic retention again. Returns the problem, or undefined when the window is enough.
 * Only the Kafka transport can ask; with Knative the broker's topics are the cluster's to check.
 */
export async function inboxRetentionProblem(
  kafka: Kafka,
  topics: { events: string; deadLetters: string },
  inboxRetentionMs: number,
): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [topics.events, topics.deadLetters].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    });
    const retentionOf = (topic: string) =>
      Number(
        resources
          .find((r) => r.resourceName === topic)
          ?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue,
      );
    const events = retentionOf(topics.events);
    const deadLetters = retentionOf(topics.deadLetters);
    if (!Number.isFinite(events) || !Number.isFinite(deadLetters)) {
      return `could not read retention.ms of ${topics.events} and ${topics.deadLetters}`;
    }
    if (events < 0 || deadLetters < 0) {
      return `${events < 0 ? topics.events : topics.deadLetters} keeps records forever: no INBOX_RETENTION recognises every redelivery from it`;
    }
    const needed = events + deadLetters;
    if (inboxRetentionMs >= needed) return undefined;
    const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10} h`;
    return (
      `INBOX_RETENTION (${hours(inboxRetentionMs)}) is shorter than the retention of ${topics.events} ` +
      `(${hours(events)}) plus ${topics.deadLetters} (${hours(deadLetters)}): an event read again or ` +
      `replayed after its inbox row is deleted is handled twice. Raise INBOX_RETENTION to at least ${hours(needed)}.`
    );
  } finally {
    await admin.disconnect();
  }
}
