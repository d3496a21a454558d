-- People: user accounts, their sign-in sessions, failed sign-ins (lock-out) and the append-only
-- record of every grant, change and revocation of a right. Passwords and session secrets are never
-- stored: only an argon2id hash (libsodium's crypto_pwhash_str format) and a SHA-256 hex digest.
CREATE TABLE users (
  username      text COLLATE "C" PRIMARY KEY,
  display_name  text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'operator', 'analyst', 'welfare_officer')),
  zones         text[] NOT NULL DEFAULT '{}',
  domains       text[] NOT NULL DEFAULT '{}',
  password_hash text NOT NULL,
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_sessions (
  id_hash      text PRIMARY KEY,            -- hex SHA-256 of the session secret
  username     text COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,        -- created_at + auth.session_max_s
  ended_at     timestamptz                  -- signed out, or ended by a disable / password change
);
CREATE INDEX user_sessions_username ON user_sessions (username) WHERE ended_at IS NULL;

-- One row per failed sign-in, for any username (known or not): the lock-out survives a restart and
-- is shared by every instance. Cleared for a username by its next successful sign-in.
CREATE TABLE sign_in_failures (
  id       bigserial PRIMARY KEY,
  username text NOT NULL,
  at       timestamptz NOT NULL DEFAULT now(),
  remote   text NOT NULL DEFAULT ''
);
CREATE INDEX sign_in_failures_username_at ON sign_in_failures (username, at);

-- Who granted, changed or revoked which right, when: never updated, never deleted.
CREATE TABLE grant_changes (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor    text NOT NULL,
  username text COLLATE "C" NOT NULL,       -- no foreign key: the rows outlive the account
  action   text NOT NULL CHECK (action IN ('create', 'change', 'password', 'disable', 'enable', 'delete')),
  before   jsonb,
  after    jsonb
);
CREATE INDEX grant_changes_username ON grant_changes (username, id);

CREATE FUNCTION grant_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'grant_changes is append-only';
END $$;
CREATE TRIGGER grant_changes_append_only BEFORE UPDATE OR DELETE ON grant_changes
  FOR EACH ROW EXECUTE FUNCTION grant_changes_append_only();
CREATE TRIGGER grant_changes_no_truncate BEFORE TRUNCATE ON grant_changes
  FOR EACH STATEMENT EXECUTE FUNCTION grant_changes_append_only();
