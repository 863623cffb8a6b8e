#!/bin/sh
# One-shot topic creation for docker-compose.yml (the broker has auto-create off): every topic in
# KAFKA_TOPICS with KAFKA_TOPIC_PARTITIONS partitions. Safe to run again.
set -eu

for topic in $KAFKA_TOPICS; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$KAFKA_BOOTSTRAP_SERVER" --create --if-not-exists \
    --topic "$topic" --partitions "$KAFKA_TOPIC_PARTITIONS" --replication-factor 1
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$KAFKA_BOOTSTRAP_SERVER" --describe
