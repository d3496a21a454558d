// A minimal ZIP writer for answers built in memory (the GTFS plan export): entries stored
// uncompressed with their CRC-32, local headers, the central directory and its end record. Pure.
#pragma once
#include <string>
#include <vector>

namespace maeul::transit {

struct zip_file {
  std::string name, data;
};

// The archive of the files, in order. At most 65,535 entries, names of at most 65,535 bytes, and
// every size and offset (each file, the central directory, the whole archive) below 4 GiB (no
// ZIP64); throws std::length_error otherwise. Times are 1980-01-01 00:00. `comment`: the archive's
// comment (at most 65,535 bytes, else length_error).
std::string zip_store(const std::vector<zip_file>& files, const std::string& comment = "");

}  // namespace maeul::transit
