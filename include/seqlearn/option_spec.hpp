// One row of the option table (src/config_options.cpp): a key with its type, range, default,
// unit and help. Public because plug-ins bring their own rows: an input task's keys
// (input_task.hpp: TaskEntry::options) join the table, --help and /config.
#pragma once

namespace seqlearn::options {

// How a key's text is read, and what `range` means for it.
enum class Type {
  integer,    // range "[LOW, HIGH]"
  real,       // range "[LOW, HIGH]", "(LOW, HIGH]", ...: '(' or ')' excludes the bound
  boolean,    // true | false (also 1 | 0, yes | no, on | off)
  choice,     // range "a | b | c": the names, in the order of the C++ enum's enumerators
  plugin,     // range: the registry whose names are allowed ("plasticity rules", "input tasks")
  real_pair,  // "MIN,MAX" with MIN <= MAX, both in range
  real_list,  // "A,B,...", each in range; empty allowed
  text,       // any text, empty allowed
  file_name,  // any text but empty
  // Formats of their own, read by build_config:
  grid,       // "ROWSxCOLS"
  sequences,  // pattern ids, ',' within a sequence and ';' between sequences
  phases,     // "NAME:MS,...": run.protocol
  neurons,    // all | random:K | range:A-B | list:I,J,...
  auto_bool,  // true | false | auto
  // test.X: the type, range and unit of input.X; empty = input.X's value (test phases inherit).
  as_input,
};

enum class Restore { may_change, fixed };  // fixed: a checkpoint restores only with that value

// The texts are string literals (a plug-in's rows included): the table keeps the pointers.
struct KeySpec {
  const char* key;
  Type type;
  const char* range;          // what is allowed, for the types that say so above ("" otherwise)
  const char* default_value;  // "" = none
  const char* unit;           // "" = none (a count or a plain number)
  Restore restore;  // fixed: the key fixes the network, its random streams or frozen patterns
  const char* help;
  // Conditions on other keys, checked in build_config (at the line that names the key) or by
  // the input task that owns the key (TaskEntry::check).
  const char* cross_check = "";
};

}  // namespace seqlearn::options
