// libFuzzer harness: the configuration parser must answer any input with a Config or a
// ConfigError, never a crash, a hang or another exception. The first byte picks what the
// rest is: key=value lines (make_config), NUL-separated command-line words, or an INI file.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "seqlearn/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 3) {
      case 0: {
        std::vector<std::pair<std::string, std::string>> overrides;
        std::size_t start = 0;
        while (start <= text.size()) {
          const auto end = std::min(text.find('\n', start), text.size());
          const std::string line = text.substr(start, end - start);
          const auto eq = line.find('=');
          if (eq != std::string::npos)
            overrides.emplace_back(line.substr(0, eq), line.substr(eq + 1));
          start = end + 1;
        }
        seqlearn::make_config(overrides);
        break;
      }
      case 1: {
        std::vector<std::string> words{"seqlearn_mpi"};
        std::size_t start = 0;
        while (start <= text.size()) {
          const auto end = std::min(text.find('\0', start), text.size());
          words.push_back(text.substr(start, end - start));
          start = end + 1;
        }
        std::vector<const char*> argv;
        for (const auto& w : words) argv.push_back(w.c_str());
        seqlearn::parse_command_line(static_cast<int>(argv.size()), argv.data());
        break;
      }
      default: {
        const std::string path = "/tmp/seqlearn_fuzz_config_" + std::to_string(getpid()) + ".ini";
        std::ofstream(path, std::ios::binary) << text;
        const char* argv[] = {"seqlearn_mpi", "--config", path.c_str()};
        seqlearn::parse_command_line(3, argv);
        break;
      }
    }
  } catch (const seqlearn::ConfigError&) {
  }
  return 0;
}
