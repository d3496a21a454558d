-- Retention by domain (API §9): raw readings are partitioned by domain first, then by month, so
-- that a domain's readings past its horizon go by dropping whole partitions (never a DELETE), and
-- welfare can keep 90 days while mobility keeps everything. The domain is a smallint code in the
-- row: it sits in the padding between series_id and ts, so rows are no larger than before.
--
--   observations                       LIST (domain)
--     observations_welfare             RANGE (ts)
--       observations_welfare_2026m12   one UTC month
--
-- Partition names sort by domain then month and never collide (years are four digits: readings
-- before 1970 are refused).
CREATE FUNCTION maeul_domain_code(d text) RETURNS smallint IMMUTABLE STRICT LANGUAGE sql AS $$
  SELECT CASE d WHEN 'mobility' THEN 1 WHEN 'energy' THEN 2 WHEN 'welfare' THEN 3
                WHEN 'disaster' THEN 4 WHEN 'environment' THEN 5 END::smallint
$$;
CREATE FUNCTION maeul_domain_name(c smallint) RETURNS text IMMUTABLE STRICT LANGUAGE sql AS $$
  SELECT (ARRAY['mobility', 'energy', 'welfare', 'disaster', 'environment'])[c]
$$;

ALTER TABLE observations RENAME TO observations_before_0013;
ALTER TABLE observations_before_0013 RENAME CONSTRAINT observations_pkey TO observations_before_0013_pkey;

CREATE TABLE observations (
  series_id  integer NOT NULL,
  domain     smallint NOT NULL,
  ts         timestamptz NOT NULL,
  value      double precision NOT NULL,
  PRIMARY KEY (series_id, ts, domain)
) PARTITION BY LIST (domain);

DO $$
DECLARE d text;
BEGIN
  FOREACH d IN ARRAY ARRAY['mobility', 'energy', 'welfare', 'disaster', 'environment'] LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF observations FOR VALUES IN (%s) PARTITION BY RANGE (ts)',
                   'observations_' || d, maeul_domain_code(d));
  END LOOP;
END $$;

DROP FUNCTION maeul_ensure_partition(timestamptz);
-- Creates the monthly partition of domain `dom` holding `at` when missing; returns its name.
-- Idempotent and safe to call from several sessions at once (see 0003 for the race).
CREATE FUNCTION maeul_ensure_partition(at timestamptz, dom smallint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  start_ts timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  end_ts   timestamptz := start_ts + interval '1 month';
  parent   text := 'observations_' || maeul_domain_name(dom);
  name     text := parent || '_' || to_char(start_ts AT TIME ZONE 'UTC', 'YYYY"m"MM');
BEGIN
  IF maeul_domain_name(dom) IS NULL THEN
    RAISE EXCEPTION 'no domain with code %', dom USING ERRCODE = '22023';
  END IF;
  IF to_regclass(name) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext(name));
    BEGIN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, parent, start_ts, end_ts);
    EXCEPTION WHEN duplicate_table THEN
      NULL;
    END;
  END IF;
  RETURN name;
END $$;

-- The readings stored so far move over (readings of sensors deleted meanwhile, which no query can
-- reach, are left behind).
DO $$
DECLARE m record;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', o.ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month,
                  maeul_domain_code(s.domain) AS dom
           FROM observations_before_0013 o JOIN series x ON x.id = o.series_id JOIN sensors s ON s.id = x.sensor_id LOOP
    PERFORM maeul_ensure_partition(m.month, m.dom);
  END LOOP;
END $$;
INSERT INTO observations (series_id, domain, ts, value)
  SELECT o.series_id, maeul_domain_code(s.domain), o.ts, o.value
  FROM observations_before_0013 o JOIN series x ON x.id = o.series_id JOIN sensors s ON s.id = x.sensor_id;
DROP TABLE observations_before_0013;

DO $$
BEGIN
  FOR c IN 1..5 LOOP
    PERFORM maeul_ensure_partition(now(), c::smallint);
    PERFORM maeul_ensure_partition(now() + interval '1 month', c::smallint);
  END LOOP;
END $$;

-- Every partition the retention job dropped: what, when, how many rows (the planner's estimate,
-- taken just before the drop).
CREATE TABLE retention_drops (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  partition   text NOT NULL,
  domain      text NOT NULL,
  month       date NOT NULL,
  est_rows    bigint NOT NULL,
  dropped_at  timestamptz NOT NULL DEFAULT now()
);
