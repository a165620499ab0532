// The reader of validation.forced_spikes (docs/model.md 7), part of the inputs' I/O module
// (input_files.hpp); it needs neither HDF5 nor the model's headers beyond config.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "seqlearn/config.hpp"

namespace seqlearn {

// Loads and checks docs/model.md 7's CSV (`source,id,step`) against the network's sizes and
// the run's steps [0, end_step) (steps are absolute: a restored run ends at its checkpoint's
// step plus its protocol). ConfigError naming validation.forced_spikes and the line.
ForcedSpikes load_forced_spikes(const std::string& path, int n_inputs, std::uint64_t n_neurons,
                                std::int64_t end_step);

}  // namespace seqlearn
