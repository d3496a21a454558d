-- Bus operations (API §11, docs/transit.md): the network of one GTFS feed (replaced as a whole by
-- each import), vehicle positions and the stop arrivals derived from them. Positions and arrivals
-- name routes, stops and trips by their GTFS ids without foreign keys: they outlive a re-import.
CREATE TABLE transit_agencies (
  id text PRIMARY KEY,
  name text NOT NULL,
  url text NOT NULL,
  timezone text NOT NULL
);
CREATE TABLE transit_stops (
  id text PRIMARY KEY,
  name text NOT NULL DEFAULT '',
  code text NOT NULL DEFAULT '',
  location_type integer NOT NULL DEFAULT 0,
  parent text NOT NULL DEFAULT '',
  location geometry(Point, 4326)
);
CREATE INDEX transit_stops_geog ON transit_stops USING gist ((location::geography));
CREATE TABLE transit_shapes (
  id text PRIMARY KEY,
  geom geometry(LineString, 4326) NOT NULL
);
CREATE TABLE transit_routes (
  id text PRIMARY KEY,
  agency_id text NOT NULL DEFAULT '',
  short_name text NOT NULL DEFAULT '',
  long_name text NOT NULL DEFAULT '',
  type integer NOT NULL,
  color text NOT NULL DEFAULT '',
  text_color text NOT NULL DEFAULT ''
);
CREATE TABLE transit_trips (
  id text PRIMARY KEY,
  route_id text NOT NULL REFERENCES transit_routes (id) ON DELETE CASCADE,
  service_id text NOT NULL,
  shape_id text REFERENCES transit_shapes (id) ON DELETE SET NULL,
  direction_id integer,
  headsign text NOT NULL DEFAULT ''
);
CREATE INDEX transit_trips_route ON transit_trips (route_id);
CREATE TABLE transit_stop_times (
  trip_id text NOT NULL REFERENCES transit_trips (id) ON DELETE CASCADE,
  stop_sequence integer NOT NULL,
  stop_id text NOT NULL REFERENCES transit_stops (id) ON DELETE CASCADE,
  arrival_s integer,
  departure_s integer,
  PRIMARY KEY (trip_id, stop_sequence)
);
CREATE INDEX transit_stop_times_stop ON transit_stop_times (stop_id);
CREATE TABLE transit_calendar (
  service_id text PRIMARY KEY,
  days integer NOT NULL,  -- bit 0 Monday .. bit 6 Sunday
  start_date date NOT NULL,
  end_date date NOT NULL
);
CREATE TABLE transit_calendar_dates (
  service_id text NOT NULL,
  date date NOT NULL,
  exception_type integer NOT NULL CHECK (exception_type IN (1, 2)),
  PRIMARY KEY (service_id, date)
);
CREATE TABLE transit_frequencies (
  trip_id text NOT NULL REFERENCES transit_trips (id) ON DELETE CASCADE,
  start_s integer NOT NULL,
  end_s integer NOT NULL,
  headway_s integer NOT NULL CHECK (headway_s > 0),
  exact_times integer NOT NULL DEFAULT 0
);
CREATE INDEX transit_frequencies_trip ON transit_frequencies (trip_id);
CREATE TABLE transit_feed (
  id integer PRIMARY KEY CHECK (id = 1),
  imported_at timestamptz NOT NULL
);

CREATE TABLE transit_positions (
  vehicle text NOT NULL,
  route_id text NOT NULL,
  trip_id text NOT NULL DEFAULT '',
  ts timestamptz NOT NULL,
  location geometry(Point, 4326) NOT NULL,
  occupancy text NOT NULL DEFAULT '',
  progress_m double precision,   -- along the matched pattern; NULL when off route
  offset_m double precision,     -- distance from the pattern's line
  off_route boolean NOT NULL DEFAULT false,
  out_of_order boolean NOT NULL DEFAULT false,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transit_positions_vehicle_ts ON transit_positions (vehicle, ts);
CREATE INDEX transit_positions_route_ts ON transit_positions (route_id, ts);
CREATE TABLE transit_arrivals (
  route_id text NOT NULL,
  stop_id text NOT NULL,
  direction integer NOT NULL DEFAULT 0,
  pattern text NOT NULL DEFAULT '',
  vehicle text NOT NULL,
  trip_id text NOT NULL DEFAULT '',
  ts timestamptz NOT NULL
);
CREATE INDEX transit_arrivals_route_stop_ts ON transit_arrivals (route_id, stop_id, ts);
CREATE INDEX transit_arrivals_route_ts ON transit_arrivals (route_id, ts);
CREATE INDEX transit_arrivals_ts ON transit_arrivals (ts);  -- the KPIs' period scans across routes

-- The `bunching` rule kind (docs/transit.md "Bunching"): judged by the transit module on each stop
-- arrival; its alerts follow the usual lifecycle (subject: "ROUTE/STOP/DIRECTION").
ALTER TABLE rules DROP CONSTRAINT rules_kind_check;
ALTER TABLE rules ADD CONSTRAINT rules_kind_check
  CHECK (kind IN ('threshold', 'rate', 'silence', 'composite', 'inactivity', 'bunching'));
