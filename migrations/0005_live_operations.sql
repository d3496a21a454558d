-- Live operations: rules, alerts with their audit trail of events, incidents, and the webhook
-- outbox (deliveries are written in the same transaction as the event they announce).
CREATE TABLE rules (
  id          text COLLATE "C" PRIMARY KEY,
  name        jsonb NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('threshold', 'rate', 'silence', 'composite')),
  selector    jsonb NOT NULL DEFAULT '{}',
  severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  enabled     boolean NOT NULL DEFAULT true,
  spec        jsonb NOT NULL,           -- the whole rule as given (normalized)
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id          text COLLATE "C" NOT NULL,
  rule_name        jsonb NOT NULL,
  kind             text NOT NULL,
  severity         text NOT NULL,
  state            text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
  subject          text COLLATE "C" NOT NULL,     -- sensor id, or zone id for composite rules
  sensor_id        text COLLATE "C",
  zone_id          text COLLATE "C",
  domain           text,
  metric           text,
  value            double precision,
  message          text NOT NULL,
  opened_at        timestamptz NOT NULL DEFAULT now(),
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  resolved_at      timestamptz,
  resolved_by      text,
  cleared_at       timestamptz,
  escalated_at     timestamptz,
  note             text
);
-- One open (open or acknowledged) alert per (rule, subject).
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule_id, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_state_idx ON alerts (state, id DESC);
CREATE INDEX alerts_zone_idx ON alerts (zone_id, id DESC);

CREATE TABLE alert_events (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id  bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  event     text NOT NULL,   -- opened, acknowledged, resolved, cleared, escalated
  at        timestamptz NOT NULL DEFAULT now(),
  actor     text,            -- token name, or "system"
  note      text
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);

CREATE TABLE incidents (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  category       text NOT NULL,
  zone_id        text COLLATE "C",
  location       geometry(Point, 4326),
  reported_at    timestamptz NOT NULL,
  dispatched_at  timestamptz,
  on_scene_at    timestamptz,
  resolved_at    timestamptz,
  note           text,
  created_by     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_zone_idx ON incidents (zone_id, reported_at);
CREATE INDEX incidents_reported_idx ON incidents (reported_at);

CREATE TABLE incident_alerts (
  incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  alert_id     bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  PRIMARY KEY (incident_id, alert_id)
);

CREATE TABLE incident_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  at           timestamptz NOT NULL DEFAULT now(),
  what         text NOT NULL,
  actor        text,
  note         text
);

CREATE TABLE webhooks (
  id          text COLLATE "C" PRIMARY KEY,
  url         text NOT NULL,
  events      text[] NOT NULL,
  secret      text NOT NULL,          -- needed to sign; never returned by the API
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id    text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event         text NOT NULL,
  body          text NOT NULL,
  state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts      integer NOT NULL DEFAULT 0,
  next_at       timestamptz NOT NULL DEFAULT now(),
  last_status   integer,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  delivered_at  timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id DESC);
