// The command line and the --config file it names (parse_command_line), and the configuration
// of a run restored from a checkpoint (resume_config): both resolve the keys' texts and leave
// the checks to build_config (config.cpp). Part of the I/O library: it reads the --config file.
#include <boost/program_options.hpp>
#include <cerrno>  // program_invocation_short_name (GNU)
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "config_options.hpp"
#include "seqlearn/config.hpp"
#include "seqlearn/file_safety.hpp"
#include "seqlearn/input_task.hpp"
#include "seqlearn/plasticity.hpp"
#include "seqlearn/recordables.hpp"
#include "seqlearn/text.hpp"

namespace po = boost::program_options;

namespace seqlearn {
namespace {

using namespace options;

po::options_description key_options() {
  po::options_description keys("Model and run keys (INI file sections or --SECTION.KEY VALUE)");
  for (const auto& spec : key_table())
    keys.add_options()(spec.key, po::value<std::string>()->default_value(spec.default_value, ""),
                       help_text(spec).c_str());
  return keys;
}

// --config: a regular file of at most 1 MiB (a folder, a device or a huge file is a mistake).
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;
void check_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw ConfigError("cannot read --config file '" + path + "'");
  if (!fs::is_regular_file(status))
    throw ConfigError("--config '" + path + "' is " +
                      (fs::is_directory(status) ? "a folder" : "not a regular file") +
                      "; expected an INI file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxConfigBytes)
    throw ConfigError("--config file '" + path + "' is " + std::to_string(size) +
                      " bytes; expected an INI file of at most 1 MiB");
}

bool same_boolean(const std::string& a, const std::string& b) {
  auto value = [](std::string text) -> int {
    text = trim(text);
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    if (text == "true" || text == "1" || text == "yes" || text == "on") return 1;
    if (text == "false" || text == "0" || text == "no" || text == "off") return 0;
    return -1;
  };
  return value(a) < 0 || value(b) < 0 || value(a) == value(b);  // bad values: build_config says
}

// The shortcuts and their keys on one command line: the same value twice is one value,
// different values are an error naming both (which one would win is not obvious).
void check_aliases(const po::variables_map& vm) {
  struct Alias {
    const char* shortcut;
    const char* key;
  };
  for (const auto& [shortcut, key] :
       {Alias{"output", "output.file"}, Alias{"seed", "run.seed"}, Alias{"threads", "run.threads"},
        Alias{"overwrite", "output.overwrite"}}) {
    if (!vm.count(shortcut) || vm[key].defaulted()) continue;
    const bool flag = std::string_view(shortcut) == "overwrite";
    const std::string a = flag ? "true" : vm[shortcut].as<std::string>();
    const std::string b = vm[key].as<std::string>();
    if (flag ? same_boolean(a, b) : trim(a) == trim(b)) continue;
    throw ConfigError("--" + std::string(shortcut) + (flag ? "" : " '" + a + "'") + " and --" +
                      key + " '" + b + "' disagree; give one of them");
  }
}

std::map<std::string, std::string> to_map(const po::variables_map& vm) {
  std::map<std::string, std::string> values;
  for (const auto& spec : key_table()) values[spec.key] = vm[spec.key].as<std::string>();
  return values;
}

}  // namespace

// Boost's error messages substitute the user's text for placeholders such as %invalid_line% or
// %canonical_option%, and loop forever when that text contains the placeholder itself (found by
// fuzz_config: a config line "x%invalid_line%" hung seqlearn_mpi). So what() is called only
// when the input holds no '%'; otherwise the message is built here from the parts.
namespace {
std::string po_message(const po::error& e, bool input_has_percent) {
  if (const auto* syntax = dynamic_cast<const po::invalid_config_file_syntax*>(&e))
    return "expected 'key = value', a [section] or a '#' comment, not '" + syntax->tokens() + "'";
  if (!input_has_percent) return e.what();
  if (const auto* named = dynamic_cast<const po::error_with_option_name*>(&e))
    return "cannot use option '" + named->get_option_name() + "' as given";
  return "cannot parse the command line or --config file";
}

// The options besides the table's keys.
po::options_description general_options() {
  po::options_description general("General options");
  general.add_options()("help,h", "print this help and exit")(
      "version", "print the version and exit")("config", po::value<std::string>(),
                                               "INI configuration file ([section] key = value)")(
      "output", po::value<std::string>(), "output HDF5 file (= --output.file)")(
      "overwrite", "replace an existing output file (= --output.overwrite true)")(
      "seed", po::value<std::string>(), "master seed (= --run.seed)")(
      "threads", po::value<std::string>(), "OpenMP threads per rank, 0 = auto (= --run.threads)")(
      "restore", po::value<std::string>(),
      "continue from a checkpoint: its remaining protocol, or --run.protocol if given");
  return general;
}

// --help: the usage, then every option and key.
std::string usage_text(const po::options_description& all) {
  std::ostringstream help;
  const std::string program = program_invocation_short_name;
  help
      << "Usage: " << program
      << " [--config FILE] [--restore CHECKPOINT] [--output FILE.h5] [--overwrite]\n"
      << std::string(program.size() + 8, ' ')
      << "[--seed N] [--threads N] [--SECTION.KEY VALUE ...]\n\n"
         "Simulates grids of winner-take-all circuits learning with STDP (Klampfl & Maass 2013)\n"
         "and writes one HDF5 file (docs/output.md). Without arguments it runs the default\n"
         "experiment: 10x5 grid, train 100 s, test 3 s, output results/default.h5.\n"
         "Run it under mpirun for several ranks; results are identical for any rank and thread\n"
         "count. The command line overrides the config file.\n\n"
         "Checkpoints: output.checkpoint_every_ms writes FILE.ckpt.h5 periodically and at the "
         "end;\n"
         "SIGTERM/SIGINT stop all ranks at the same step with a checkpoint and a complete output;\n"
         "--restore FILE continues (on any number of ranks, bit-identically) with the remaining\n"
         "protocol, or with --run.protocol and other [input]/[test]/[record]/[output] keys.\n\n"
         "Exit codes: 0 success; 1 runtime failure (one rank's error aborts the job; diverging\n"
         "dynamics stop every rank); 2 bad input (nothing simulated or written); 3 stopped by\n"
         "SIGTERM/SIGINT (checkpoint written; a request in the protocol's last exchange interval\n"
         "or later stops nothing: the run completes with 0).\n\n"
      << all;
  // The plug-ins registered in this program (docs/extending.md).
  help << "\nPlasticity rules (plasticity.schedule):\n";
  for (const auto& [name, rule] : plasticity_rules().entries())
    help << "  " << name << ": " << rule.help << "\n";
  help << "\nInput tasks (input.task, test.task, run.protocol NAME:MS:TASK):\n";
  for (const auto& [name, task] : input_tasks().entries())
    help << "  " << name << ": " << task.help << "\n";
  help << "\nRecorded neuron quantities (/traces/NAME, every record.dt_rec steps):\n";
  for (const auto& [name, quantity] : neuron_quantities().entries())
    help << "  " << name << ": " << quantity.help << " [unit " << quantity.unit << "]\n";
  help << "\nRecorded synapse quantities (/traces/NAME, of the traced neurons' synapses, with "
          "record.weight_traces):\n";
  for (const auto& [name, quantity] : synapse_quantities().entries())
    help << "  " << name << ": " << quantity.help << " [unit " << quantity.unit << "]\n";
  help << "\nRecorded spike quantities (/spikes/NAME, one value per spike):"
       << (spike_quantities().entries().empty() ? " none\n" : "\n");
  for (const auto& [name, quantity] : spike_quantities().entries())
    help << "  " << name << ": " << quantity.help << " [unit " << quantity.unit << "]\n";
  help << "\nInput labels (/input/NAME, every step, always recorded):\n";
  for (const auto& [name, label] : input_labels().entries())
    help << "  " << name << ": " << label.help << " [" << label.width << " per step]\n";
  return help.str();
}

// The command line, and the --config file it names (the command line wins), into `vm`.
void read_options(int argc, const char* const* argv, const po::options_description& all,
                  const po::options_description& keys, po::variables_map& vm) {
  bool input_has_percent = false;
  for (int i = 0; i < argc; ++i)
    input_has_percent = input_has_percent || std::strchr(argv[i], '%') != nullptr;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    check_aliases(vm);  // before the config file's values join the command line's
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      check_config_file(path);
      // Without blocking: a "regular" file of /proc such as /proc/kmsg would wait forever.
      std::string text = read_regular_file("--config", path, kMaxConfigBytes);
      strip_byte_order_mark(text);
      input_has_percent = input_has_percent || text.find('%') != std::string::npos;
      std::istringstream stream(text);
      po::options_description file_keys;
      file_keys.add(keys);
      try {
        po::store(po::parse_config_file(stream, file_keys, false), vm);
      } catch (const po::unknown_option&) {
        throw;  // names the key
      } catch (const po::error& e) {
        throw ConfigError("--config file '" + path + "': " + po_message(e, input_has_percent));
      }
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw ConfigError(unknown_key_message(e.get_option_name()));
  } catch (const po::error& e) {
    throw ConfigError(po_message(e, input_has_percent));
  }
}

// The keys given on the command line or in the --config file, shortcuts as their keys.
std::map<std::string, std::string> given_values(const po::variables_map& vm) {
  std::map<std::string, std::string> given;
  for (const auto& spec : key_table())
    if (!vm[spec.key].defaulted()) given[spec.key] = vm[spec.key].as<std::string>();
  if (vm.count("output")) given["output.file"] = vm["output"].as<std::string>();
  if (vm.count("overwrite")) given["output.overwrite"] = "true";
  if (vm.count("seed")) given["run.seed"] = vm["seed"].as<std::string>();
  if (vm.count("threads")) given["run.threads"] = vm["threads"].as<std::string>();
  return given;
}

}  // namespace

Invocation parse_command_line(int argc, const char* const* argv) {
  const po::options_description general = general_options();
  const po::options_description keys = key_options();
  po::options_description all;
  all.add(general).add(keys);

  Invocation invocation;
  invocation.help_text = usage_text(all);
  po::variables_map vm;
  read_options(argc, argv, all, keys, vm);
  invocation.show_help = vm.count("help") > 0;
  invocation.show_version = vm.count("version") > 0;
  if (invocation.show_help || invocation.show_version) return invocation;

  const std::map<std::string, std::string> given = given_values(vm);
  invocation.explicit_values.assign(given.begin(), given.end());
  if (vm.count("config")) invocation.config_path = vm["config"].as<std::string>();
  if (vm.count("restore")) {
    invocation.restore_path = vm["restore"].as<std::string>();
    return invocation;  // the configuration comes from the checkpoint (resume_config)
  }
  auto values = to_map(vm);
  std::set<std::string> given_keys;
  for (const auto& [key, value] : given) {
    values[key] = value;
    given_keys.insert(key);
  }
  invocation.config = build_config(Values(values, given_keys));
  return invocation;
}

Config resume_config(const std::vector<std::pair<std::string, std::string>>& checkpoint_values,
                     const std::vector<std::pair<std::string, std::string>>& explicit_values,
                     const std::string& remaining_protocol, bool continues_phase) {
  std::map<std::string, std::string> values;
  for (const auto& spec : key_table()) values[spec.key] = spec.default_value;
  for (const auto& [key, value] : checkpoint_values) {
    if (!values.contains(key))
      throw ConfigError("--restore: the checkpoint has the key '" + key + "', unknown to " +
                        program_invocation_short_name +
                        ": it was written by another version, or by a program built with "
                        "other plug-ins (docs/extending.md), which restores it");
    values[key] = value;
  }
  bool protocol_given = false;
  for (const auto& [key, value] : explicit_values) {
    const KeySpec* spec = find_spec(key);
    if (spec != nullptr && spec->restore == Restore::fixed && trim(value) != trim(values[key]))
      fail(key, value,
           "a checkpoint written with " + key + " = " + values[key] +
               " cannot be restored with another value");
    protocol_given |= key == "run.protocol";
    values[key] = value;
  }
  if (!protocol_given) {
    if (remaining_protocol.empty())
      throw ConfigError(
          "--restore: the checkpointed run's protocol is complete; give run.protocol "
          "(e.g. --run.protocol test:3000) for the phases to run");
    values["run.protocol"] = remaining_protocol;
  }
  // A checkpoint's value that is the table's default counts as not given (record.neurons).
  std::set<std::string> given;
  for (const auto& [key, value] : checkpoint_values)
    if (const KeySpec* spec = find_spec(key); spec && trim(value) != spec->default_value)
      given.insert(key);
  for (const auto& [key, value] : explicit_values) given.insert(key);
  Config config = build_config(Values(values, given));
  if (!protocol_given && continues_phase) config.protocol.front().continues = true;
  return config;
}

}  // namespace seqlearn
