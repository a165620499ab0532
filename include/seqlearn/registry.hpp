// Plug-ins found by name (cf. NEST's register_node_model, arbor's samplers): the plasticity
// rules (plasticity.hpp), the input tasks (input_task.hpp) and the recorded quantities
// (recordables.hpp) each live in a Registry, filled with the built-in ones on first use. A
// researcher's own plug-in is one class and one line that adds it (docs/extending.md).
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace seqlearn {

// A name that is one HDF5 path component, for a plug-in whose name becomes a dataset or group
// name (recorded quantities, task targets): not empty, no '/', not "." or "..".
inline bool is_dataset_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

template <class Entry>
class Registry {
 public:
  // Adds `entry` under `name` (after the ones already there: the order of --help and of the
  // output). A name taken twice is a programming error. Returns true, so that a namespace-scope
  // `const bool registered = registry.add(...)` registers at start-up.
  bool add(const std::string& name, Entry entry) {
    if (name.empty() || find(name) != nullptr)
      throw std::logic_error("registry: the name '" + name + "' is empty or taken");
    entries_.emplace_back(name, std::move(entry));
    return true;
  }

  // The entry of `name`, or nullptr.
  const Entry* find(const std::string& name) const {
    const auto it = std::find_if(entries_.begin(), entries_.end(),
                                 [&](const auto& named) { return named.first == name; });
    return it == entries_.end() ? nullptr : &it->second;
  }

  // The names in registration order, and all of them joined (for messages: "a | b | c").
  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    return names;
  }
  std::string joined_names(const std::string& separator = " | ") const {
    std::string text;
    for (const auto& [name, entry] : entries_) text += (text.empty() ? "" : separator) + name;
    return text;
  }

  const std::vector<std::pair<std::string, Entry>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, Entry>> entries_;
};

}  // namespace seqlearn
