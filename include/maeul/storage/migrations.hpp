// Forward-only schema migrations, embedded in the binary from migrations/NNNN_name.sql.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace maeul::storage {

struct migration {
  int version;
  std::string name;
  std::string sql;
};

// Every migration this binary knows, in version order (generated at build time).
const std::vector<migration>& embedded_migrations();

// The database's schema is newer than this binary knows: refuse to run.
struct schema_too_new : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct migrate_report {
  int before = 0;                   // schema version found
  int after = 0;                    // schema version now
  std::vector<std::string> applied; // names applied by this call
};

// Applies pending migrations, each in its own transaction, under an advisory lock so that
// several instances starting at once apply each migration once. Throws unavailable when the
// database cannot be reached, schema_too_new when it is ahead, migration_lock_timeout when another
// session holds the lock for more than `lock_timeout_s` (logged once while waiting), and the SQL
// error otherwise.
migrate_report migrate(const std::string& url, const std::vector<migration>& all = embedded_migrations(),
                       int lock_timeout_s = 60);

struct migration_lock_timeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The current schema version (0 when none); throws like migrate().
int schema_version(const std::string& url);

}  // namespace maeul::storage
