-- The welfare vault (API §9): residents whose identity is sealed at rest, and the chained record
-- of every access to it.
--
-- A resident's identity (name, birth year, phone, address, guardians, notes) is one AEAD-sealed
-- document under the resident's own data key; the data key is stored only wrapped by a
-- key-encryption key that lives in a file outside the database (privacy.key_file), named by
-- key_id. Erasure nulls the wrapped data key (crypto-shredding): the sealed bytes may stay, no key
-- can open them. The phone is findable only through a keyed blind index (HMAC), never by
-- decrypting the table. Zone, care worker, risk level and consent stay in clear: the service needs
-- them to route, scope and decide, and none names the person.
CREATE TABLE residents (
  id           text PRIMARY KEY,                       -- "r-" + 16 hex, random
  household    text NOT NULL UNIQUE,                   -- "hh-" + 16 hex, random: what sensors name
  zone_id      text COLLATE "C" NOT NULL REFERENCES zones (id) ON UPDATE CASCADE ON DELETE RESTRICT,
  care_worker  text NOT NULL DEFAULT '',
  risk_level   text NOT NULL DEFAULT 'medium' CHECK (risk_level IN ('low', 'medium', 'high')),
  consent_purpose    text NOT NULL,
  consent_basis      text NOT NULL,
  consent_granted_at timestamptz NOT NULL,
  consent_expires_at timestamptz,
  key_id       text,                                   -- the key-encryption key that wraps data_key
  data_key     bytea,                                  -- wrapped; NULL once erased
  sealed       bytea NOT NULL,                         -- the identity, under the data key
  phone_index  bytea,                                  -- HMAC of the normalized phone; NULL once erased
  withheld_readings bigint NOT NULL DEFAULT 0,         -- readings while consent had lapsed: a count only
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  erased_at    timestamptz
);
CREATE INDEX residents_zone ON residents (zone_id, id) WHERE erased_at IS NULL;
CREATE INDEX residents_phone ON residents (phone_index) WHERE phone_index IS NOT NULL;
CREATE INDEX residents_key ON residents (key_id) WHERE data_key IS NOT NULL;
-- Welfare sensors name their household (attributes.household): the export and the reveal find them.
CREATE INDEX sensors_household ON sensors ((attributes->>'household')) WHERE domain = 'welfare';

-- Access records (PIPA safety standard, article 8): append-only, each chained to the one before
-- by a SHA-256 over its own fields and the previous hash. seq has no gaps (it is taken under the
-- head row's lock, never from a sequence), and access_head holds the last seq and hash, so an
-- edited, deleted or truncated record is found by GET /api/v1/audit/verify. No retention job ever
-- touches this table (kept at least two years whatever the data's retention).
CREATE TABLE access_records (
  seq        bigint PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text NOT NULL,
  role       text NOT NULL,
  ip         text NOT NULL,
  action     text NOT NULL CHECK (action IN ('create', 'list', 'read', 'lookup', 'export', 'reveal', 'change', 'erase')),
  resident   text,                                     -- NULL for a list
  alert_id   bigint,                                   -- the open welfare alert of the household, if any
  purpose    text NOT NULL,
  prev_hash  bytea NOT NULL,
  hash       bytea NOT NULL
);
CREATE INDEX access_records_resident ON access_records (resident, seq);
CREATE INDEX access_records_actor ON access_records (actor, seq);
CREATE INDEX access_records_at ON access_records (at);

CREATE TABLE access_head (
  one        boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq        bigint NOT NULL,
  hash       bytea NOT NULL
);
INSERT INTO access_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');
