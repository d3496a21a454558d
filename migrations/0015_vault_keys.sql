-- The welfare vault's key ids (docs/security.md, "The welfare vault"): which key-encryption keys a
-- new record may be sealed under. `maeuld keys rotate` retires the old ids in one transaction that
-- waits for every registration holding one (FOR SHARE), so no record can be sealed under a key the
-- rotation is about to drop from the key file. No key material here: ids only.
CREATE TABLE vault_keys (
  key_id      text PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);
INSERT INTO vault_keys (key_id)
  SELECT DISTINCT key_id FROM residents WHERE data_key IS NOT NULL AND key_id IS NOT NULL;

-- The care loop's consent step asks, on every tick, whether a household's lapse already has its alert.
CREATE INDEX alerts_rule_subject_opened ON alerts (rule_id, subject, opened_at);
