-- API tokens gain an optional end and a zone/domain scope, like users (API §8); and the record of
-- grants (grant_changes) covers tokens too: their creation and revocation, by whom and when.
ALTER TABLE api_tokens
  ADD COLUMN expires_at timestamptz,
  ADD COLUMN zones      text[] NOT NULL DEFAULT '{}',
  ADD COLUMN domains    text[] NOT NULL DEFAULT '{}',
  ADD COLUMN created_by text NOT NULL DEFAULT '';

ALTER TABLE grant_changes
  ADD COLUMN subject text NOT NULL DEFAULT 'user' CHECK (subject IN ('user', 'token'));
ALTER TABLE grant_changes DROP CONSTRAINT grant_changes_action_check;
ALTER TABLE grant_changes
  ADD CONSTRAINT grant_changes_action_check
  CHECK (action IN ('create', 'change', 'password', 'disable', 'enable', 'delete', 'revoke'));

-- Keys this deployment makes for itself at first start, shared by every instance: the key of
-- household pseudonyms ("hh-..." in welfare alerts shown to those who may not read welfare data).
CREATE TABLE instance_keys (
  name       text PRIMARY KEY,
  key        text NOT NULL,                 -- hex
  created_at timestamptz NOT NULL DEFAULT now()
);
