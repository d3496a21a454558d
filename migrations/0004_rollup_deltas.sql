-- Rollup deltas: the ingest transaction appends one partial aggregate per (series, minute) of its
-- batch here (append-only, no index: as cheap as COPY), and a compactor folds them into rollup_1m
-- and rollup_1h every second. Queries read rollups plus the deltas not folded yet, so they are
-- exact at every moment, and a crash loses nothing (the deltas commit with their readings).
CREATE TABLE rollup_delta (
  series_id  integer NOT NULL,
  bucket     timestamptz NOT NULL,   -- minute
  n          bigint NOT NULL,
  sum        double precision NOT NULL,
  min        double precision NOT NULL,
  max        double precision NOT NULL,
  last_ts    timestamptz NOT NULL,
  last       double precision NOT NULL
);
ALTER TABLE rollup_delta SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
