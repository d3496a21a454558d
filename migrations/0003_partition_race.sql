-- maeul_ensure_partition: two sessions creating the same month at once. The advisory lock does
-- not refresh the catalog snapshot, so the loser may not see the winner's table yet: treat
-- "already exists" as success.
CREATE OR REPLACE FUNCTION maeul_ensure_partition(at timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  start_ts timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  end_ts   timestamptz := start_ts + interval '1 month';
  name     text := 'observations_' || to_char(start_ts AT TIME ZONE 'UTC', 'YYYY"m"MM');
BEGIN
  IF to_regclass(name) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext(name));
    BEGIN
      EXECUTE format('CREATE TABLE %I PARTITION OF observations FOR VALUES FROM (%L) TO (%L)',
                     name, start_ts, end_ts);
    EXCEPTION WHEN duplicate_table THEN
      NULL;
    END;
  END IF;
  RETURN name;
END $$;
