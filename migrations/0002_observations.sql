-- Observations: narrow rows in monthly partitions (created ahead by the daemon), a series table
-- mapping (sensor, metric) to a small integer, and 1-minute and 1-hour rollups kept up to date by
-- the ingest transaction.
CREATE TABLE series (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sensor_id  text COLLATE "C" NOT NULL REFERENCES sensors (id) ON UPDATE CASCADE ON DELETE CASCADE,
  metric     text COLLATE "C" NOT NULL,
  UNIQUE (sensor_id, metric)
);

CREATE TABLE observations (
  series_id  integer NOT NULL,
  ts         timestamptz NOT NULL,
  value      double precision NOT NULL,
  PRIMARY KEY (series_id, ts)
) PARTITION BY RANGE (ts);

-- count, sum, min, max and the last value (by time) of each series in each bucket.
CREATE TABLE rollup_1m (
  series_id  integer NOT NULL,
  bucket     timestamptz NOT NULL,
  n          bigint NOT NULL,
  sum        double precision NOT NULL,
  min        double precision NOT NULL,
  max        double precision NOT NULL,
  last_ts    timestamptz NOT NULL,
  last       double precision NOT NULL,
  PRIMARY KEY (series_id, bucket)
);

CREATE TABLE rollup_1h (LIKE rollup_1m INCLUDING ALL);

-- Creates the monthly partition holding `at` when missing; returns its name. Idempotent and safe
-- to call from several instances at once.
CREATE FUNCTION maeul_ensure_partition(at timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  start_ts timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  end_ts   timestamptz := start_ts + interval '1 month';
  name     text := 'observations_' || to_char(start_ts AT TIME ZONE 'UTC', 'YYYY"m"MM');
BEGIN
  IF to_regclass(name) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext(name));
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF observations FOR VALUES FROM (%L) TO (%L)',
                     name, start_ts, end_ts);
    END IF;
  END IF;
  RETURN name;
END $$;

SELECT maeul_ensure_partition(now());
SELECT maeul_ensure_partition(now() + interval '1 month');
