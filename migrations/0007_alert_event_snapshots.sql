-- Each alert event keeps the alert as it was after that change, so a replay (`since`) shows what
-- was pushed live at the time, not the alert's current state.
ALTER TABLE alert_events ADD COLUMN alert jsonb;
