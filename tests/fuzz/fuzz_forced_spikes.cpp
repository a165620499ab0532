// libFuzzer harness: the forced-spike CSV loader (docs/model.md 7) must answer any file with a
// list of spikes or a ConfigError.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "seqlearn/forced_spikes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = "/tmp/seqlearn_fuzz_forced_" + std::to_string(getpid()) + ".csv";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    const auto forced = seqlearn::load_forced_spikes(path, 10, 50, 1000);
    for (const auto& spike : forced.inputs)
      if (spike.id >= 10 || spike.step < 0 || spike.step >= 1000) __builtin_trap();
    for (const auto& spike : forced.neurons)
      if (spike.id >= 50 || spike.step < 0 || spike.step >= 1000) __builtin_trap();
  } catch (const seqlearn::ConfigError&) {
  }
  return 0;
}
