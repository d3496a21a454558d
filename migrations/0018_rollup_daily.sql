-- The daily rollup level (docs/architecture.md, Flow 6): one row per series and calendar day in the
-- city's time zone, aggregated from the hourly rollups (the hours whose start falls in that local
-- day), so that KPIs over months and years read ~24x fewer rows. The compactor marks every
-- (series, local day) whose hourly rollups it changed in rollup_1d_dirty, in the same transaction,
-- and later recomputes those days from rollup_1h; readers use a daily row only when its day is not
-- marked, so they are exact at every moment. Rollups are never dropped with observation partitions,
-- so the daily level stays correct under retention as the hourly one does.
CREATE TABLE rollup_1d_zone (
  only_one  boolean PRIMARY KEY DEFAULT true CHECK (only_one),
  tz        text NOT NULL   -- the IANA time zone whose calendar days rollup_1d holds
);

CREATE TABLE rollup_1d (
  series_id  integer NOT NULL,
  day        date NOT NULL,              -- local calendar day in rollup_1d_zone.tz
  n          bigint NOT NULL,
  sum        double precision NOT NULL,
  min        double precision NOT NULL,
  max        double precision NOT NULL,
  mean_sum   double precision NOT NULL,  -- sum over the day's hourly buckets of sum / n (kWh from kW)
  mean_min   double precision NOT NULL,  -- the lowest hourly mean of the day
  hours      integer NOT NULL,           -- hourly buckets folded in
  PRIMARY KEY (series_id, day)
);

-- Days whose hourly rollups changed after their daily row was computed (or that have none yet).
CREATE TABLE rollup_1d_dirty (
  series_id  integer NOT NULL,
  day        date NOT NULL,
  PRIMARY KEY (series_id, day)
);

-- Rebuilds the daily level for the calendar of time zone `zone` from rollup_1h, replacing what was
-- there (used here for the backfill and by the daemon when city.timezone changes). Takes the
-- compactor's lock, so no compaction interleaves. Returns the number of daily rows.
CREATE FUNCTION maeul_rollup_1d_rebuild(zone text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  made bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7301);
  DELETE FROM rollup_1d;
  DELETE FROM rollup_1d_dirty;
  INSERT INTO rollup_1d_zone (only_one, tz) VALUES (true, zone)
    ON CONFLICT (only_one) DO UPDATE SET tz = EXCLUDED.tz;
  INSERT INTO rollup_1d (series_id, day, n, sum, min, max, mean_sum, mean_min, hours)
    SELECT series_id, (bucket AT TIME ZONE zone)::date, sum(n), sum(sum), min(min), max(max), sum(sum / n),
           min(sum / n), count(*)
    FROM rollup_1h GROUP BY 1, 2 ORDER BY 1, 2;
  GET DIAGNOSTICS made = ROW_COUNT;
  RETURN made;
END $$;

-- The backfill, in the calendar of the example configuration's city (config/maeul.example.toml);
-- a daemon configured with another city.timezone rebuilds at start.
SELECT maeul_rollup_1d_rebuild('Asia/Seoul');
