// The file task's files: HDF5 (through H5Input) or CSV spike files and CSV label files, read,
// checked and handed to the generator as InputFile (input_files.hpp).
#include "seqlearn/input_files.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include "seqlearn/file_safety.hpp"
#include "seqlearn/hdf5_file.hpp"
#include "seqlearn/text.hpp"

namespace seqlearn {

namespace {

constexpr std::int64_t kMaxFileSteps = 1000000000000000;  // 1e15, as run.protocol

bool is_hdf5(const std::string& path) {
  // Without blocking (a "regular" file of /proc such as /proc/kmsg would wait forever), and
  // only what the file's own size promises.
  const std::string head = read_regular_file_start("input.file", path, 8);
  return head == std::string("\x89HDF\r\n\x1a\n", 8);
}

struct CsvRow {
  std::int64_t a = 0, b = 0;
  std::int64_t line = 0;
};

// Lines "A,B" of two integers (a first line that is not is a header); `key` names the file.
std::vector<CsvRow> read_csv_pairs(const std::string& key, const std::string& path,
                                   const char* format) {
  // Its size was weighed against the memory before the run (input_file_rows_at_most).
  std::string text = read_regular_file(key, path, std::numeric_limits<std::uint64_t>::max());
  strip_byte_order_mark(text);
  std::istringstream file(text);
  std::vector<CsvRow> rows;
  std::string line;
  std::int64_t line_number = 0;
  bool first_line = true;
  while (std::getline(file, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto comma = line.find(',');
    std::int64_t a = 0, b = 0;
    const bool ok = comma != std::string::npos && parse_int(line.substr(0, comma), a) &&
                    parse_int(line.substr(comma + 1), b);
    if (!ok) {
      std::int64_t ignored = 0;
      if (first_line &&
          (comma == std::string::npos || !parse_int(line.substr(0, comma), ignored))) {
        first_line = false;  // a header
        continue;
      }
      throw ConfigError("invalid " + key + " '" + path + "', line " + std::to_string(line_number) +
                        ": expected '" + format + "' with integers");
    }
    first_line = false;
    rows.push_back({a, b, line_number});
  }
  return rows;
}

// Label runs from (step, label) pairs, sorted by step, one per step (other steps: -1).
void label_runs(const std::vector<std::pair<std::int64_t, std::int32_t>>& labels, InputFile& f) {
  f.label_step = {0};
  f.label_value = {-1};
  auto set = [&f](std::int64_t step, std::int32_t value) {
    if (f.label_step.back() == step) {
      f.label_value.back() = value;
      if (f.label_value.size() > 1 && f.label_value[f.label_value.size() - 2] == value) {
        f.label_step.pop_back();
        f.label_value.pop_back();
      }
    } else if (f.label_value.back() != value) {
      f.label_step.push_back(step);
      f.label_value.push_back(value);
    }
  };
  for (const auto& [step, label] : labels) {
    set(step, label);
    set(step + 1, -1);
  }
}

// What a spike file holds before it becomes an InputFile, and what messages need to name it.
struct RawInput {
  std::string where;  // "invalid KEY 'PATH': "
  int n_inputs = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> spikes;  // (step, channel)
  std::vector<std::pair<std::int64_t, std::int32_t>> labels;  // (step, label), sparse
  std::int64_t length = -1;  // the file's own statement of its length, if any
};

// A spike's step and channel; `at` says where it is in the file ("line 3: ").
void check_spike(const RawInput& raw, std::int64_t step, std::int64_t channel,
                 const std::string& at) {
  const std::string& where = raw.where;
  const int n_inputs = raw.n_inputs;
  if (step < 0) throw ConfigError(where + at + "step " + std::to_string(step) + " is negative");
  if (step >= kMaxFileSteps)
    throw ConfigError(where + at + "step " + std::to_string(step) + " is 1e15 or more");
  if (n_inputs == 0)
    throw ConfigError(where + at + "channel " + std::to_string(channel) +
                      ": the network has no input channels (network.n_inputs = 0)");
  if (channel < 0 || channel >= n_inputs)
    throw ConfigError(where + at + "channel " + std::to_string(channel) + " outside [0, " +
                      std::to_string(n_inputs - 1) +
                      "] (network.n_inputs = " + std::to_string(n_inputs) + ")");
}

// The length of a 1-D integer dataset of `in` (ConfigError if it is missing or another kind).
std::uint64_t integer_dataset(const H5Input& in, const RawInput& raw, const std::string& name) {
  if (in.dataset_kind(name) != H5Input::Kind::integer)
    throw ConfigError(raw.where + name +
                      (in.exists(name) ? " is not a 1-D integer dataset" : " is missing"));
  return in.length(name);
}

constexpr std::uint64_t kChunk = 1 << 20;  // rows read at a time

void read_hdf5_spikes(const H5Input& in, RawInput& raw) {
  const std::uint64_t n = integer_dataset(in, raw, "/spikes/step");
  if (integer_dataset(in, raw, "/spikes/channel") != n)
    throw ConfigError(raw.where + "/spikes/step and /spikes/channel differ in length");
  for (std::uint64_t at = 0; at < n; at += kChunk) {
    const std::uint64_t count = std::min(kChunk, n - at);
    const auto steps = in.read_rows<std::int64_t>("/spikes/step", at, count);
    const auto channels = in.read_rows<std::int64_t>("/spikes/channel", at, count);
    for (std::uint64_t i = 0; i < count; ++i) {
      check_spike(raw, steps[i], channels[i], "spike " + std::to_string(at + i) + ": ");
      raw.spikes.emplace_back(steps[i], channels[i]);
    }
  }
}

// /labels (one per step: its length is the file's), if the file has them.
void read_hdf5_labels(const H5Input& in, RawInput& raw) {
  if (!in.exists("/labels")) return;
  const std::uint64_t n_labels = integer_dataset(in, raw, "/labels");
  raw.length = static_cast<std::int64_t>(n_labels);
  for (std::uint64_t at = 0; at < n_labels; at += kChunk) {
    const std::uint64_t count = std::min(kChunk, n_labels - at);
    const auto values = in.read_rows<std::int64_t>("/labels", at, count);
    for (std::uint64_t i = 0; i < count; ++i) {
      if (values[i] < -1 || values[i] > std::numeric_limits<std::int32_t>::max())
        throw ConfigError(raw.where + "/labels[" + std::to_string(at + i) + "] is " +
                          std::to_string(values[i]) + "; labels are int32 >= -1");
      if (values[i] != -1)
        raw.labels.emplace_back(static_cast<std::int64_t>(at + i),
                                static_cast<std::int32_t>(values[i]));
    }
  }
}

// The root's attributes n_steps (the file's length) and dt (must be neuron.dt), if present.
void read_hdf5_attributes(const H5Input& in, RawInput& raw, double dt_ms) {
  const std::string& where = raw.where;
  if (in.attribute_kind("/", "n_steps") != H5Input::Kind::missing) {
    if (in.attribute_kind("/", "n_steps") != H5Input::Kind::integer)
      throw ConfigError(where + "attribute n_steps is not an integer");
    const std::int64_t n_steps = in.int_attribute("/", "n_steps");
    if (n_steps < 1 || n_steps > kMaxFileSteps)
      throw ConfigError(where + "attribute n_steps is " + std::to_string(n_steps) +
                        "; expected 1 to 1e15");
    if (raw.length >= 0 && n_steps != raw.length)
      throw ConfigError(where + "attribute n_steps is " + std::to_string(n_steps) +
                        " but /labels has " + std::to_string(raw.length) + " steps");
    raw.length = n_steps;
  }
  const auto dt_kind = in.attribute_kind("/", "dt");
  if (dt_kind == H5Input::Kind::missing) return;
  if (dt_kind != H5Input::Kind::integer && dt_kind != H5Input::Kind::floating)
    throw ConfigError(where + "attribute dt is not a number");
  const double dt = in.double_attribute("/", "dt");
  if (!(std::abs(dt - dt_ms) <= 1e-9 * dt_ms)) {
    std::ostringstream text;
    text << where << "attribute dt is " << dt << " ms; neuron.dt is " << dt_ms << " ms";
    throw ConfigError(text.str());
  }
}

void read_hdf5_input(const std::string& path, const std::string& key, RawInput& raw, double dt_ms) {
  try {
    const H5Input in(path);
    read_hdf5_spikes(in, raw);
    read_hdf5_labels(in, raw);
    read_hdf5_attributes(in, raw, dt_ms);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError("cannot read " + key + " '" + path + "' as HDF5: " + e.what());
  }
}

// A CSV label file `step,label`: sorted by step, a step labelled twice alike counts once.
void read_csv_labels(const std::string& label_path, const std::string& label_key, RawInput& raw) {
  auto& labels = raw.labels;
  const std::string label_where = "invalid " + label_key + " '" + label_path + "': ";
  for (const auto& row : read_csv_pairs(label_key, label_path, "step,label")) {
    const std::int64_t step = row.a, label = row.b, label_row = row.line;
    if (step < 0 || step >= kMaxFileSteps)
      throw ConfigError(label_where + "line " + std::to_string(label_row) + ": step " +
                        std::to_string(step) + " outside [0, 1e15)");
    if (label < -1 || label > std::numeric_limits<std::int32_t>::max())
      throw ConfigError(label_where + "line " + std::to_string(label_row) + ": label " +
                        std::to_string(label) + "; labels are int32 >= -1");
    labels.emplace_back(step, static_cast<std::int32_t>(label));
  }
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < labels.size(); ++i)
    if (labels[i].first == labels[i - 1].first && labels[i].second != labels[i - 1].second)
      throw ConfigError(label_where + "step " + std::to_string(labels[i].first) +
                        " has two labels");
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
}

void read_csv_input(const std::string& path, const std::string& key, RawInput& raw) {
  for (const auto& row : read_csv_pairs(key, path, "step,channel")) {
    check_spike(raw, row.a, row.b, "line " + std::to_string(row.line) + ": ");
    raw.spikes.emplace_back(row.a, row.b);
  }
}

// The spikes sorted and de-duplicated, the length settled and checked, the labels as runs.
InputFile finish_input_file(RawInput& raw) {
  auto& spikes = raw.spikes;
  const auto& labels = raw.labels;
  std::sort(spikes.begin(), spikes.end());
  spikes.erase(std::unique(spikes.begin(), spikes.end()), spikes.end());
  std::int64_t length = raw.length;
  if (length < 0) {
    // CSV (or HDF5 without /labels or n_steps): the last spiking or labelled step + 1.
    length = 0;
    if (!spikes.empty()) length = spikes.back().first + 1;
    if (!labels.empty()) length = std::max(length, labels.back().first + 1);
  }
  if (length <= 0) throw ConfigError(raw.where + "no spikes and no labels: the file lasts no step");
  if (!spikes.empty() && spikes.back().first >= length)
    throw ConfigError(raw.where + "spike step " + std::to_string(spikes.back().first) +
                      " is beyond the file's " + std::to_string(length) + " steps (n_steps)");
  InputFile f;
  f.n_steps = length;
  f.spike_step.reserve(spikes.size());
  f.spike_channel.reserve(spikes.size());
  for (const auto& [step, channel] : spikes) {
    f.spike_step.push_back(step);
    f.spike_channel.push_back(static_cast<std::uint32_t>(channel));
  }
  label_runs(labels, f);
  return f;
}

}  // namespace

InputFile load_input_file(const std::string& path, const std::string& label_path, int n_inputs,
                          double dt_ms, const std::string& key, const std::string& label_key) {
  RawInput raw;
  raw.where = "invalid " + key + " '" + path + "': ";
  raw.n_inputs = n_inputs;
  if (path.empty()) throw ConfigError(key + ": expected a spike file for the file task");
  regular_file_size(key, path);  // a FIFO or a device is refused, never read
  if (!label_path.empty()) regular_file_size(label_key, label_path);
  // A file named like HDF5 that is not (truncated, or another format) would otherwise be read
  // as CSV and refused with a puzzling CSV message.
  const auto dot = path.find_last_of('.');
  const std::string extension = dot == std::string::npos ? "" : path.substr(dot);
  if (!is_hdf5(path) && (extension == ".h5" || extension == ".hdf5" || extension == ".hdf"))
    throw ConfigError(raw.where +
                      "named like an HDF5 file but not one (no HDF5 signature; "
                      "truncated, or another format?)");
  if (is_hdf5(path)) {
    if (!label_path.empty())
      throw ConfigError("invalid value '" + label_path + "' for " + label_key + ": only a CSV " +
                        key + " takes a label file; an HDF5 " + key +
                        " holds its labels in /labels");
    read_hdf5_input(path, key, raw, dt_ms);
  } else {
    read_csv_input(path, key, raw);
    if (!label_path.empty()) read_csv_labels(label_path, label_key, raw);
  }
  return finish_input_file(raw);
}

std::vector<LoadedInputFile> load_input_files(const Config& config) {
  std::vector<LoadedInputFile> files;
  for (const InputSettings& source : input_file_sources(config))
    files.push_back({source.file, source.label_file,
                     std::make_shared<const InputFile>(
                         load_input_file(source.file, source.label_file, config.n_inputs,
                                         config.dt_ms, source.file_key, source.label_file_key))});
  return files;
}

SimulatorInputs load_simulator_inputs(const Config& config, std::int64_t first_step) {
  SimulatorInputs inputs;
  inputs.files = load_input_files(config);
  if (!config.forced_spikes_file.empty())
    inputs.forced = load_forced_spikes(config.forced_spikes_file, config.n_inputs,
                                       count_neurons(config), first_step + config.total_steps());
  return inputs;
}

namespace {

std::uint64_t rows_at_most(const InputSettings& source) {
  constexpr std::uint64_t kShortestCsvRow = 4;  // "0,0\n"
  std::uint64_t rows = 0;
  if (!source.label_file.empty())
    rows += regular_file_size(source.label_file_key, source.label_file) / kShortestCsvRow;
  const std::uint64_t bytes = regular_file_size(source.file_key, source.file);
  if (!is_hdf5(source.file)) return rows + bytes / kShortestCsvRow;
  try {
    const H5Input in(source.file);
    for (const char* name : {"/spikes/step", "/labels"})
      if (in.dataset_kind(name) == H5Input::Kind::integer) rows += in.length(name);
  } catch (const std::exception&) {
    // load_input_file says what is wrong with it
  }
  return rows;
}

}  // namespace

std::uint64_t input_file_rows_at_most(const Config& config) {
  std::uint64_t rows = 0;
  for (const InputSettings& source : input_file_sources(config)) rows += rows_at_most(source);
  return rows;
}

}  // namespace seqlearn
