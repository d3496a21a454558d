-- Foundation: PostGIS, API tokens, and the registry (zones, sensors, facilities).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE api_tokens (
  id          text COLLATE "C" PRIMARY KEY,
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('admin', 'operator', 'analyst', 'device', 'welfare_officer')),
  sensors     text[] NOT NULL DEFAULT '{}',
  token_hash  text NOT NULL UNIQUE,          -- hex SHA-256 of the token; the token itself is never stored
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE zones (
  id          text COLLATE "C" PRIMARY KEY,
  name        jsonb NOT NULL,
  boundary    geometry(Geometry, 4326) NOT NULL
              CHECK (GeometryType(boundary) IN ('POLYGON', 'MULTIPOLYGON')),
  area_km2    double precision NOT NULL,
  population  bigint NOT NULL DEFAULT 0 CHECK (population >= 0),
  households  bigint NOT NULL DEFAULT 0 CHECK (households >= 0),
  attributes  jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zones_boundary_gix ON zones USING gist (boundary);

CREATE TABLE sensors (
  id          text COLLATE "C" PRIMARY KEY,
  domain      text NOT NULL CHECK (domain IN ('mobility', 'energy', 'welfare', 'disaster', 'environment')),
  kind        text NOT NULL,
  name        text,
  location    geometry(Point, 4326) NOT NULL,
  zone_id     text COLLATE "C" REFERENCES zones (id) ON UPDATE CASCADE ON DELETE RESTRICT,
  metrics     jsonb NOT NULL,
  attributes  jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sensors_location_gix ON sensors USING gist ((location::geography));
CREATE INDEX sensors_zone_idx ON sensors (zone_id, id);
CREATE INDEX sensors_domain_idx ON sensors (domain, id);
CREATE INDEX sensors_kind_idx ON sensors (kind, id);

CREATE TABLE facilities (
  id          text COLLATE "C" PRIMARY KEY,
  category    text NOT NULL,
  name        jsonb NOT NULL,
  location    geometry(Point, 4326) NOT NULL,
  zone_id     text COLLATE "C" REFERENCES zones (id) ON UPDATE CASCADE ON DELETE RESTRICT,
  attributes  jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX facilities_location_gix ON facilities USING gist ((location::geography));
CREATE INDEX facilities_zone_idx ON facilities (zone_id, id);
CREATE INDEX facilities_category_idx ON facilities (category, id);
