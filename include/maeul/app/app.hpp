// The daemon's entry points: command-line parsing, logging set-up, and the commands.
#pragma once
#include <string>
#include <vector>

#include "maeul/config/settings.hpp"

namespace maeul::app {

// Exit codes of maeuld.
enum exit_code : int {
  exit_ok = 0,
  exit_config = 1,
  exit_database = 2,
  exit_schema = 3,
  exit_bind = 4,
  exit_usage = 64,
};

// Sets up spdlog: human text on a terminal, JSON lines otherwise or when format is "json".
void setup_logging(const config::log_settings& s);

// main(): parses argv and runs the command. Returns the process exit code.
int run(int argc, char** argv);

}  // namespace maeul::app
