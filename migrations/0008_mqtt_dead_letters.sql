-- MQTT messages that could not become readings (bad JSON, wrong fields, unknown sensor, every
-- reading refused): kept for operators to inspect. Bounded: each insert deletes all but the newest
-- N rows (mqtt.dead_letters_keep), so the table never grows without limit.
CREATE TABLE mqtt_dead_letters (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic          text NOT NULL,
  payload        bytea NOT NULL,            -- the first 64 KiB of the payload, as received
  payload_bytes  integer NOT NULL,          -- the payload's full size
  error          text NOT NULL,
  received_at    timestamptz NOT NULL
);
