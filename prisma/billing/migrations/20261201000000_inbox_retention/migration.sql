-- The retention sweep deletes inbox rows oldest first (events/runtime/src/retention/retention.ts).
-- Published outbox rows are found through "outbox_published_at_seq_idx" already.
-- CreateIndex
CREATE INDEX "inbox_processed_at_idx" ON "inbox"("processed_at");
