-- From alert to action (API §12): alerts carry their words in both languages, the stage a staged
-- rule reached, the latest value seen with a change, when their severity last changed (escalation
-- counts from it) and whom they are assigned to; playbooks of steps per incident category, and
-- the steps done on each incident.
ALTER TABLE alerts
  ADD COLUMN title          jsonb,             -- {"ko","en"}; NULL for alerts opened before 0016
  ADD COLUMN text           jsonb,             -- {"ko","en"}
  ADD COLUMN stage          integer,           -- a staged threshold rule's stage reached (0-based)
  ADD COLUMN current_value  double precision,  -- the reading of the latest change (open, stage)
  ADD COLUMN severity_at    timestamptz,       -- when the severity last changed (NULL: since opened)
  ADD COLUMN assignee       text COLLATE "C",  -- a username
  ADD COLUMN assigned_at    timestamptz;
CREATE INDEX alerts_assignee_idx ON alerts (assignee, id DESC) WHERE assignee IS NOT NULL;
CREATE INDEX alert_events_at_idx ON alert_events (at);
CREATE INDEX incident_alerts_alert_idx ON incident_alerts (alert_id);
CREATE INDEX incident_events_at_idx ON incident_events (at);
-- The open incident of a category in a zone, that a rule's critical alert joins.
CREATE INDEX incidents_open_category_idx ON incidents (category, zone_id) WHERE resolved_at IS NULL;

CREATE TABLE playbooks (
  category    text COLLATE "C" PRIMARY KEY,
  steps       jsonb NOT NULL,               -- [{"id","text":{"ko","en"},"role"?}], validated by the API
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text
);

CREATE TABLE incident_steps (
  incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  step_id      text COLLATE "C" NOT NULL,
  done         boolean NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  actor        text,
  note         text,
  PRIMARY KEY (incident_id, step_id)
);
