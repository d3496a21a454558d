-- The rollup deltas as a pair of tables that the writers alternate between (docs/architecture.md,
-- Flow 6). The compactor switches the writers to the other table, folds the one they left and
-- TRUNCATEs it: a TRUNCATE leaves no dead rows, so neither table ever bloats. Before this, one table
-- was DELETEd empty every second while ingest refilled it, autovacuum came too late, and a heap of
-- dead rows (150-300 MB, 0 live) made every read of it slow: warm() read it once per series and
-- timed out at start-up. `rollup_delta` stays as the name every reader uses: a view of both.
CREATE TABLE rollup_delta_0 (
  series_id  integer NOT NULL,
  bucket     timestamptz NOT NULL,   -- minute
  n          bigint NOT NULL,
  sum        double precision NOT NULL,
  min        double precision NOT NULL,
  max        double precision NOT NULL,
  last_ts    timestamptz NOT NULL,
  last       double precision NOT NULL
);
CREATE TABLE rollup_delta_1 (LIKE rollup_delta_0 INCLUDING ALL);
-- Only appended to and TRUNCATEd: vacuum has nothing to reclaim, and an autovacuum worker would
-- only hold a lock that the compactor's TRUNCATE must wait to cancel.
ALTER TABLE rollup_delta_0 SET (autovacuum_enabled = false);
ALTER TABLE rollup_delta_1 SET (autovacuum_enabled = false);

-- The deltas not folded yet move over (a daemon stopped mid-ingest leaves some).
INSERT INTO rollup_delta_0 SELECT series_id, bucket, n, sum, min, max, last_ts, last FROM rollup_delta;
DROP TABLE rollup_delta;

CREATE VIEW rollup_delta AS
  SELECT series_id, bucket, n, sum, min, max, last_ts, last FROM rollup_delta_0
  UNION ALL
  SELECT series_id, bucket, n, sum, min, max, last_ts, last FROM rollup_delta_1;
