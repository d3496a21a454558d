-- Webhook secrets sealed at rest (docs/security.md, "Webhook hygiene"). secret_sealed holds the
-- XChaCha20-Poly1305 form (version byte, key id, nonce, ciphertext and tag) under the key in
-- webhooks.secret_key_file, which is never in the database. `secret` keeps only what rows written
-- before this version had in clear: maeuld seals it at its next start with a key and sets it NULL.
ALTER TABLE webhooks ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE webhooks ADD COLUMN secret_sealed bytea;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_secret_kept CHECK (secret IS NOT NULL OR secret_sealed IS NOT NULL);

-- The outbox per webhook: its pending deliveries in due order (claims bounded per receiver, and
-- the oldest dropped past webhooks.max_pending_per_webhook).
CREATE INDEX webhook_deliveries_pending_hook ON webhook_deliveries (webhook_id, next_at, id) WHERE state = 'pending';
