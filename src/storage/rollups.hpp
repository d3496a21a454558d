// The daily rollup level (migration 0018, docs/architecture.md Flow 6): what the compactor adds to
// its transaction to keep rollup_1d consistent with rollup_1h. Internal to storage/.
#pragma once
#include <cstdint>
#include <string>

#include <pqxx/pqxx>

namespace maeul::storage::rollups {

// A CTE to append to the compactor's statement, after its CTE `m` (series_id, bucket: the minutes
// folded): marks every (series, local day of the minute's hour) in rollup_1d_dirty. Starts with
// ", ". Marks nothing while rollup_1d_zone is empty (then readers do not use the daily level).
const std::string& mark_dirty_cte();

// Recomputes from rollup_1h at most `limit` marked days that ended before today (in the daily
// level's time zone), writes or deletes their rollup_1d rows and clears their marks. Run in the
// compactor's transaction, after its statement (it reads the hourly rows that statement wrote).
// Returns the days recomputed. Today's days stay marked: readers take them from rollup_1h.
std::int64_t roll_days_forward(pqxx::transaction_base& tx, std::int64_t limit);

}  // namespace maeul::storage::rollups
