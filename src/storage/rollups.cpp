// The daily rollup level: marking the days the compactor touched and recomputing them from the
// hourly rollups (see rollups.hpp and migration 0018).
#include "rollups.hpp"

namespace maeul::storage::rollups {

const std::string& mark_dirty_cte() {
  // The local day of the minute's UTC hour: the day whose rollup_1d row that hour belongs to.
  static const std::string sql =
      ", dd AS (INSERT INTO rollup_1d_dirty (series_id, day) SELECT DISTINCT m.series_id, "
      "((date_trunc('hour', m.bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AT TIME ZONE z.tz)::date FROM m "
      "CROSS JOIN rollup_1d_zone z ORDER BY 1, 2 ON CONFLICT DO NOTHING)";
  return sql;
}

namespace {

// $1: the most days to recompute. The hours of a local day: buckets in [day 00:00, day+1 00:00) local.
const std::string roll_sql =
    "WITH z AS (SELECT tz FROM rollup_1d_zone), "
    "pick AS (SELECT x.series_id, x.day FROM rollup_1d_dirty x, z WHERE x.day < (now() AT TIME ZONE z.tz)::date "
    "  ORDER BY 1, 2 LIMIT $1), "
    "del AS (DELETE FROM rollup_1d_dirty x USING pick WHERE x.series_id = pick.series_id AND x.day = pick.day "
    "  RETURNING x.series_id, x.day), "
    "agg AS (SELECT del.series_id, del.day, sum(r.n)::bigint AS n, sum(r.sum) AS sum, min(r.min) AS min, "
    "  max(r.max) AS max, sum(r.sum / r.n) AS mean_sum, min(r.sum / r.n) AS mean_min, count(*)::int AS hours "
    "  FROM del CROSS JOIN z JOIN rollup_1h r ON r.series_id = del.series_id "
    "  AND r.bucket >= (del.day::timestamp AT TIME ZONE z.tz) AND r.bucket < ((del.day + 1)::timestamp AT TIME ZONE z.tz) "
    "  GROUP BY 1, 2), "
    "gone AS (DELETE FROM rollup_1d d USING del WHERE d.series_id = del.series_id AND d.day = del.day "
    "  AND NOT EXISTS (SELECT 1 FROM agg WHERE agg.series_id = del.series_id AND agg.day = del.day)), "
    "up AS (INSERT INTO rollup_1d AS d (series_id, day, n, sum, min, max, mean_sum, mean_min, hours) "
    "  SELECT * FROM agg ORDER BY 1, 2 ON CONFLICT (series_id, day) DO UPDATE SET n = EXCLUDED.n, sum = EXCLUDED.sum, "
    "  min = EXCLUDED.min, max = EXCLUDED.max, mean_sum = EXCLUDED.mean_sum, mean_min = EXCLUDED.mean_min, "
    "  hours = EXCLUDED.hours) "
    "SELECT count(*) FROM del";

}  // namespace

std::int64_t roll_days_forward(pqxx::transaction_base& tx, std::int64_t limit) {
  return tx.exec_params1(roll_sql, limit)[0].as<std::int64_t>();
}

}  // namespace maeul::storage::rollups
