#!/usr/bin/env node
/**
 * npm run dead-letters -- list
 * npm run dead-letters -- replay <event-id>... | --all [--sink <broker ingress URL>]
 *
 * Reads KAFKA_BROKERS, KAFKA_TOPIC (default soundgood.events), KAFKA_DEAD_LETTER_TOPIC (default
 * soundgood.dead-letters). Replays to the events topic, or with --sink (default K_SINK, when set) to a
 * Knative broker ingress. With K_SINK_TOKEN_FILE the broker gets that projected ServiceAccount token as
 * `Authorization: Bearer`, read as the services' publisher reads theirs: in a cluster the broker
 * requires OIDC, and its EventPolicy `dead-letter-replay` admits the `dead-letter-operator` account,
 * catalog types with their catalog sources only (k8s/base/operations/dead-letters.yaml, docs/security.md).
 *
 * Staff only: SOUNDGOOD_OPERATOR_TOKEN holds a staff bearer token of the issuer the services trust
 * (OIDC_ISSUER, OIDC_AUDIENCE; ./operator.ts). A replay prints an audit line (JSON: who, what,
 * when), also appended to DEAD_LETTERS_AUDIT_FILE when set.
 */
import { Kafka, logLevel } from 'kafkajs';
import { KafkaPublisher } from '../kafka/kafka.publisher.js';
import { KnativePublisher } from '../knative/knative.publisher.js';
import { listDeadLetters, originalEvent, originalRecord } from './dead-letters.js';
import { audit, authorizeOperator } from './operator.js';

const usage = 'usage: dead-letters list | replay <event-id>... | replay --all [--sink <url>]';

async function main(args: string[]): Promise<void> {
  const operator = await authorizeOperator();
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set');
  const topic = process.env.KAFKA_TOPIC ?? 'soundgood.events';
  const deadLetterTopic = process.env.KAFKA_DEAD_LETTER_TOPIC ?? 'soundgood.dead-letters';
  const kafka = new Kafka({
    clientId: 'soundgood-dead-letters',
    brokers: brokers.split(','),
    logLevel: logLevel.WARN,
  });
  const [command, ...rest] = args;
  const letters = await listDeadLetters(kafka, deadLetterTopic);

  if (command === 'list') {
    if (letters.length === 0) console.log(`no dead letters in ${deadLetterTopic}`);
    for (const l of letters) {
      console.log(
        `${l.partition}:${l.offset}\t${l.id ?? '-'}\t${l.type ?? '-'}\t${l.destination ?? '-'}\t${l.code ?? '-'}\t${l.reason ?? ''}`,
      );
    }
    return;
  }
  if (command !== 'replay') throw new Error(usage);
  const sinkAt = rest.indexOf('--sink');
  const sink = sinkAt >= 0 ? rest[sinkAt + 1] : process.env.K_SINK || undefined;
  const ids = rest.filter((arg, i) => !arg.startsWith('--') && !(sinkAt >= 0 && i === sinkAt + 1));
  if (!rest.includes('--all') && ids.length === 0) throw new Error(usage);
  const chosen = rest.includes('--all') ? letters : letters.filter((l) => l.id && ids.includes(l.id));
  const missing = ids.filter((id) => !letters.some((l) => l.id === id));
  if (missing.length > 0) throw new Error(`not in ${deadLetterTopic}: ${missing.join(', ')}`);

  if (sink) {
    const publisher = new KnativePublisher(sink, { tokenFile: process.env.K_SINK_TOKEN_FILE || undefined });
    await publisher.connect(); // a missing or empty token file fails here, naming it
    await publisher.publish(chosen.map(originalEvent));
  } else {
    const publisher = new KafkaPublisher(kafka, topic);
    await publisher.connect();
    await publisher.sendRecords(topic, chosen.map(originalRecord));
    await publisher.disconnect();
  }
  audit(operator, sink ?? `kafka://${topic}`, chosen);
  console.log(`replayed ${chosen.length} event(s) to ${sink ?? topic}`);
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(`dead-letters: ${error.message}`);
  process.exit(1);
});
