-- Budget lines: the programs the city funds, tied to the KPIs they are meant to move.
CREATE TABLE budget_lines (
  id          text COLLATE "C" PRIMARY KEY,
  program     jsonb NOT NULL,                 -- {"ko","en"}
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  amount_krw  bigint NOT NULL CHECK (amount_krw >= 0),
  kpis        jsonb NOT NULL DEFAULT '[]',    -- [{"kpi","target"}]
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_lines_year_idx ON budget_lines (year, id);
-- KPI queries read alerts and incidents by time.
CREATE INDEX alerts_domain_opened_idx ON alerts (domain, opened_at);
