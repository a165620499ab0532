// Writes one run's HDF5 file (schema: docs/output.md), collectively from all ranks.
#pragma once

#include <map>
#include <string>

#include "seqlearn/communicator.hpp"
#include "seqlearn/simulator.hpp"

namespace seqlearn {

// Figures of the run stored as attributes of /run (seconds, counts).
using RunInfo = std::map<std::string, double>;

// Writes to `path` + ".partial" and renames to `path` when complete, so that a result file
// on disk is always whole.
void write_output(const std::string& path, const Simulator& simulator, const RunInfo& info,
                  Communicator& comm);

}  // namespace seqlearn
