-- The `inactivity` rule kind: a gap in a household's activity that is unusual for the hour, as
-- learned from its own recent weeks (docs/welfare.md, "Routine-aware inactivity"). Its model lives
-- in the daemon's memory; the table only stores the rule.
ALTER TABLE rules DROP CONSTRAINT rules_kind_check;
ALTER TABLE rules ADD CONSTRAINT rules_kind_check
  CHECK (kind IN ('threshold', 'rate', 'silence', 'composite', 'inactivity'));
