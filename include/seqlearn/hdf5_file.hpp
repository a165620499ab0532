// Collective parallel HDF5 output (docs/design.md principle 7). The only module that includes
// <hdf5.h>; every HDF5 return code is checked and turned into an exception naming the object.
//
// All calls are collective: every rank calls them in the same order with the same names and
// global shapes; each rank passes only the block of rows (or columns) it owns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "seqlearn/communicator.hpp"

namespace seqlearn {

class H5File {
 public:
  // Creates (truncates) `path`; parallel (MPI-IO) when the communicator is an MPI one.
  H5File(const std::string& path, Communicator& comm);
  ~H5File();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  void create_group(const std::string& path);
  void attribute(const std::string& object, const std::string& name, const std::string& value);
  void attribute(const std::string& object, const std::string& name, std::int64_t value);
  void attribute(const std::string& object, const std::string& name, double value);
  // A variable-length UTF-8 string attribute (h5py reads it as str; the output file's text).
  void text_attribute(const std::string& object, const std::string& name, const std::string& value);
  // The `units` attribute of a dataset or group ("ms", "s", "Hz", "1", "step", ...).
  void units(const std::string& object, const std::string& unit) {
    text_attribute(object, "units", unit);
  }

  // 1-D dataset of `total` elements; this rank writes `count` elements at `offset`.
  template <class T>
  void write_rows(const std::string& path, const T* data, std::uint64_t count, std::uint64_t offset,
                  std::uint64_t total) {
    write_block(path, type_of<T>(), data, {total}, {offset}, {count});
  }
  template <class T>
  void write_rows(const std::string& path, const std::vector<T>& data, std::uint64_t offset,
                  std::uint64_t total) {
    write_rows(path, data.data(), data.size(), offset, total);
  }
  // 1-D dataset of `slices.total` elements; this rank writes `data`, its slices in order.
  template <class T>
  void write_slices(const std::string& path, const T* data, const Slices& slices) {
    write_slices_of(path, type_of<T>(), data, slices, -1, 0);
  }
  template <class T>
  void write_slices(const std::string& path, const std::vector<T>& data, const Slices& slices) {
    write_slices(path, data.data(), slices);
  }
  // 2-D dataset [slices.total, width]: this rank's slices of rows, row-major.
  template <class T>
  void write_row_slices(const std::string& path, const T* data, std::uint64_t width,
                        const Slices& slices) {
    write_slices_of(path, type_of<T>(), data, slices, 0, width);
  }
  // 2-D dataset [rows, slices.total]: this rank's slices of columns, [rows, slices.local()]
  // row-major.
  template <class T>
  void write_column_slices(const std::string& path, const T* data, std::uint64_t rows,
                           const Slices& slices) {
    write_slices_of(path, type_of<T>(), data, slices, 1, rows);
  }
  // 2-D dataset [rows, total_cols]; this rank writes its row-major block
  // [row_offset, row_offset + row_count) x [col_offset, col_offset + col_count).
  template <class T>
  void write_matrix(const std::string& path, const T* data, std::uint64_t rows,
                    std::uint64_t total_cols, std::uint64_t row_offset, std::uint64_t row_count,
                    std::uint64_t col_offset, std::uint64_t col_count) {
    write_block(path, type_of<T>(), data, {rows, total_cols}, {row_offset, col_offset},
                {row_count, col_count});
  }
  // Fixed-length strings; only rank 0's `values` are written (all ranks must call).
  void write_strings(const std::string& path, const std::vector<std::string>& values);

  // Flushes and closes; further calls are errors. The destructor closes too, quietly, except
  // while an exception unwinds: then it does no collective work (the other ranks are not in
  // the same call) and leaves the file to the abort that follows (src/main.cpp).
  void close();

  template <class T>
  static constexpr int type_of_public() {
    return static_cast<int>(type_of<T>());
  }

 private:
  enum class Type { f64, i64, u64, i32, u32, i16, u8 };
  template <class T>
  static constexpr Type type_of();
  void write_block(const std::string& path, Type type, const void* data,
                   const std::vector<std::uint64_t>& dims, const std::vector<std::uint64_t>& offset,
                   const std::vector<std::uint64_t>& count);
  // Slices along `axis` (-1: of a 1-D dataset; 0: rows of `other` columns; 1: columns of `other`
  // rows).
  void write_slices_of(const std::string& path, Type type, const void* data, const Slices& slices,
                       int axis, std::uint64_t other);
  // One dataset of shape `dims`, this rank's selection the union of the blocks (offset, count)
  // (ascending, not overlapping: `data` holds them in the selection's row-major order).
  struct Block {
    std::vector<std::uint64_t> offset, count;
  };
  void write_blocks(const std::string& path, Type type, const void* data,
                    const std::vector<std::uint64_t>& dims, const std::vector<Block>& blocks);

  struct Handles;
  std::unique_ptr<Handles> handles_;
  Communicator& comm_;
  int rank_;
  int exceptions_;  // std::uncaught_exceptions() at construction
  std::string file_name_;
};

// Gives a file written collectively under `partial` its final name `path` (rank 0 renames,
// after every rank has closed it), so that a file with the final name is always complete.
// Never replaces anything but a regular file, and that only with `may_replace`
// (rename_into_place in file_safety.hpp); throws, keeping `partial`, otherwise.
void publish_file(const std::string& partial, const std::string& path, Communicator& comm,
                  bool may_replace);

// Read-only access for one process (each rank opens the file on its own; no collectives).
// Used for checkpoints: every rank reads the slices it needs.
class H5Input {
 public:
  explicit H5Input(const std::string& path);  // throws std::runtime_error if unreadable
  ~H5Input();
  H5Input(const H5Input&) = delete;
  H5Input& operator=(const H5Input&) = delete;

  bool exists(const std::string& path) const;
  // What an attribute holds, or missing (the object or the attribute).
  enum class Kind { missing, integer, floating, string, other };
  Kind attribute_kind(const std::string& object, const std::string& name) const;
  // The element class of a 1-D dataset (other: not a 1-D dataset; missing: no such object).
  Kind dataset_kind(const std::string& dataset) const;
  // Empty if `dataset` exists, is 1-D with `length` elements of the element type `type`
  // (H5File::type_of_public<T>()) and holds an integer attribute `checksum`; otherwise
  // what is wrong, as text that follows the dataset's name ("is missing", ...).
  std::string dataset_problem(const std::string& dataset, int type, std::uint64_t length) const;
  // Every attribute of `object` as text (strings as they are, numbers printed).
  std::vector<std::pair<std::string, std::string>> attributes(const std::string& object) const;
  std::string string_attribute(const std::string& object, const std::string& name) const;
  std::int64_t int_attribute(const std::string& object, const std::string& name) const;
  double double_attribute(const std::string& object, const std::string& name) const;
  std::uint64_t length(const std::string& dataset) const;
  template <class T>
  std::vector<T> read_rows(const std::string& dataset, std::uint64_t offset,
                           std::uint64_t count) const {
    std::vector<T> values(count);
    read_block(dataset, H5File::type_of_public<T>(), values.data(), offset, count);
    return values;
  }

 private:
  void read_block(const std::string& dataset, int type, void* data, std::uint64_t offset,
                  std::uint64_t count) const;
  std::int64_t file_ = -1;
};

template <class T>
constexpr H5File::Type H5File::type_of() {
  if constexpr (std::is_same_v<T, double>)
    return Type::f64;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return Type::i64;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return Type::u64;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return Type::i32;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return Type::u32;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return Type::i16;
  else {
    static_assert(std::is_same_v<T, std::uint8_t>, "unsupported HDF5 element type");
    return Type::u8;
  }
}

}  // namespace seqlearn
