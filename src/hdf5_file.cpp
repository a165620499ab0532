// The only file that includes <hdf5.h> (which brings in <mpi.h> for the MPI-IO driver).
#include "seqlearn/hdf5_file.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "seqlearn/file_safety.hpp"

namespace seqlearn {
namespace {

hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5: " + what + " failed");
  return id;
}
void checked_status(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5: " + what + " failed");
}

// Owns one hid_t and closes it with the matching H5?close. Closing an object of a parallel file
// may be collective (metadata), so a Handle destroyed while an exception unwinds leaves it open:
// the other ranks are not in the same call, and the process is about to be aborted
// (docs/design.md: no collective call on an error path).
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer, const std::string& what)
      : id_(checked(id, what)), closer_(closer), exceptions_(std::uncaught_exceptions()) {}
  ~Handle() {
    if (id_ >= 0 && std::uncaught_exceptions() <= exceptions_) closer_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  Closer closer_;
  int exceptions_;
};

hid_t native(int type_index) {
  switch (type_index) {
    case 0:
      return H5T_NATIVE_DOUBLE;
    case 1:
      return H5T_NATIVE_INT64;
    case 2:
      return H5T_NATIVE_UINT64;
    case 3:
      return H5T_NATIVE_INT32;
    case 4:
      return H5T_NATIVE_UINT32;
    case 5:
      return H5T_NATIVE_INT16;
    default:
      return H5T_NATIVE_UINT8;
  }
}

// The Kind of a scalar attribute's or a dataset's element type.
H5Input::Kind kind_of_type(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return H5Input::Kind::integer;
    case H5T_FLOAT:
      return H5Input::Kind::floating;
    case H5T_STRING:
      return H5Input::Kind::string;
    default:
      return H5Input::Kind::other;
  }
}

}  // namespace

struct H5File::Handles {
  hid_t file = -1;
  hid_t transfer = -1;  // dataset transfer list: collective MPI-IO or default
  hid_t link_create = -1;
};

H5File::H5File(const std::string& path, Communicator& comm)
    : handles_(std::make_unique<Handles>()),
      comm_(comm),
      rank_(comm.rank()),
      exceptions_(std::uncaught_exceptions()),
      file_name_(path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors come back as exceptions instead
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate(file access)");
  handles_->transfer = checked(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate(transfer)");
  if (const void* handle = comm.mpi_comm_handle()) {
    const MPI_Comm mpi_comm = *static_cast<const MPI_Comm*>(handle);
    checked_status(H5Pset_fapl_mpio(access.get(), mpi_comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
    checked_status(H5Pset_dxpl_mpio(handles_->transfer, H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  }
  handles_->link_create = checked(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link)");
  checked_status(H5Pset_create_intermediate_group(handles_->link_create, 1),
                 "H5Pset_create_intermediate_group");
  // The name is the run's (claimed with its lock file, output_claim.hpp): whatever was left
  // there (a crashed run's file, or a symbolic link someone planted) is removed, which never
  // touches what a link points to, and the file is created exclusively, so that a link planted
  // meanwhile makes the creation fail instead of being followed (file_safety.hpp).
  // Never in a folder swapped in since the claim (the name NAME.partial belongs to NAME's claim).
  std::string moved;
  if (rank_ == 0) {
    const std::string claimed = path.ends_with(".partial") ? path.substr(0, path.size() - 8) : path;
    moved = claimed_folder_changed(claimed);
    if (moved.empty()) ::unlink(path.c_str());
  }
  if (comm.max(moved.empty() ? 0.0 : 1.0) > 0)
    throw std::runtime_error(rank_ == 0 ? moved + "; nothing is written there"
                                        : "rank 0 found the output's folder changed");
  handles_->file = checked(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()),
                           "creating '" + path + "'");
}

// H5Fclose is collective. Destroyed while an exception unwinds (a write failed on this rank,
// e.g. a full disk), the file is left open: the other ranks may be waiting in another
// collective (the next dataset, the spike exchange), and a collective close would hang the job
// instead of reaching main's handler, which prints the error and aborts every rank.
H5File::~H5File() {
  if (std::uncaught_exceptions() > exceptions_) {
    (void)handles_.release();  // deliberately leaked: the process is about to abort
    return;
  }
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() reports errors when called directly
  }
}

void H5File::close() {
  if (!handles_) return;
  auto handles = std::move(handles_);
  H5Pclose(handles->transfer);
  H5Pclose(handles->link_create);
  checked_status(H5Fclose(handles->file), "closing '" + file_name_ + "'");
}

void H5File::create_group(const std::string& path) {
  Handle group(
      H5Gcreate2(handles_->file, path.c_str(), handles_->link_create, H5P_DEFAULT, H5P_DEFAULT),
      H5Gclose, "creating group " + path);
}

void H5File::attribute(const std::string& object, const std::string& name,
                       const std::string& value) {
  Handle target(H5Oopen(handles_->file, object.c_str(), H5P_DEFAULT), H5Oclose,
                "opening " + object);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  checked_status(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())), "H5Tset_size");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  Handle attr(
      H5Acreate2(target.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, "creating attribute " + object + ":" + name);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  checked_status(H5Awrite(attr.get(), type.get(), padded.data()), "writing attribute " + name);
}

template <class T>
static void numeric_attribute(hid_t file, const std::string& object, const std::string& name,
                              T value, hid_t type) {
  Handle target(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose, "opening " + object);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  Handle attr(H5Acreate2(target.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "creating attribute " + object + ":" + name);
  checked_status(H5Awrite(attr.get(), type, &value), "writing attribute " + name);
}

void H5File::attribute(const std::string& object, const std::string& name, std::int64_t value) {
  numeric_attribute(handles_->file, object, name, value, H5T_NATIVE_INT64);
}
void H5File::attribute(const std::string& object, const std::string& name, double value) {
  numeric_attribute(handles_->file, object, name, value, H5T_NATIVE_DOUBLE);
}

void H5File::text_attribute(const std::string& object, const std::string& name,
                            const std::string& value) {
  Handle target(H5Oopen(handles_->file, object.c_str(), H5P_DEFAULT), H5Oclose,
                "opening " + object);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  checked_status(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  checked_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  Handle attr(
      H5Acreate2(target.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, "creating attribute " + object + ":" + name);
  const char* text = value.c_str();
  checked_status(H5Awrite(attr.get(), type.get(), &text), "writing attribute " + name);
}

void H5File::write_block(const std::string& path, Type type, const void* data,
                         const std::vector<std::uint64_t>& dims,
                         const std::vector<std::uint64_t>& offset,
                         const std::vector<std::uint64_t>& count) {
  write_blocks(path, type, data, dims, {{offset, count}});
}

void H5File::write_slices_of(const std::string& path, Type type, const void* data,
                             const Slices& slices, int axis, std::uint64_t other) {
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < slices.offsets.size(); ++i) {
    if (axis < 0)
      blocks.push_back({{slices.offsets[i]}, {slices.counts[i]}});
    else if (axis == 0)
      blocks.push_back({{slices.offsets[i], 0}, {slices.counts[i], other}});
    else
      blocks.push_back({{0, slices.offsets[i]}, {other, slices.counts[i]}});
  }
  if (axis < 0)
    write_blocks(path, type, data, {slices.total}, blocks);
  else
    write_blocks(path, type, data,
                 axis == 0 ? std::vector<std::uint64_t>{slices.total, other}
                           : std::vector<std::uint64_t>{other, slices.total},
                 blocks);
}

void H5File::write_blocks(const std::string& path, Type type, const void* data,
                          const std::vector<std::uint64_t>& dims,
                          const std::vector<Block>& blocks) {
  const auto rank = static_cast<int>(dims.size());
  std::vector<hsize_t> h_dims(dims.begin(), dims.end());
  const hid_t mem_type = native(static_cast<int>(type));
  Handle file_space(H5Screate_simple(rank, h_dims.data(), nullptr), H5Sclose,
                    "dataspace of " + path);
  Handle dataset(H5Dcreate2(handles_->file, path.c_str(), mem_type, file_space.get(),
                            handles_->link_create, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose, "creating dataset " + path);
  // An empty dataset has nothing to write (every rank knows the global shape, so all skip).
  if (std::any_of(dims.begin(), dims.end(), [](auto d) { return d == 0; })) return;
  checked_status(H5Sselect_none(file_space.get()), "H5Sselect_none");
  hsize_t selected = 0;
  for (const Block& block : blocks) {
    if (std::any_of(block.count.begin(), block.count.end(), [](auto c) { return c == 0; }))
      continue;
    std::vector<hsize_t> h_offset(block.offset.begin(), block.offset.end());
    std::vector<hsize_t> h_count(block.count.begin(), block.count.end());
    checked_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_OR, h_offset.data(), nullptr,
                                       h_count.data(), nullptr),
                   "selecting block of " + path);
    hsize_t elements = 1;
    for (const hsize_t c : h_count) elements *= c;
    selected += elements;
  }
  // The memory holds the selected elements one after another, in the file selection's order.
  const hsize_t mem_elements = std::max<hsize_t>(selected, 1);
  Handle mem_space(H5Screate_simple(1, &mem_elements, nullptr), H5Sclose,
                   "memory space of " + path);
  if (selected == 0) checked_status(H5Sselect_none(mem_space.get()), "H5Sselect_none");
  static const std::uint64_t dummy = 0;
  checked_status(H5Dwrite(dataset.get(), mem_type, mem_space.get(), file_space.get(),
                          handles_->transfer, selected == 0 ? &dummy : data),
                 "writing " + path + " to '" + file_name_ + "'");
}

void H5File::write_strings(const std::string& path, const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size() + 1);
  std::vector<char> buffer(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    std::copy(values[i].begin(), values[i].end(),
              buffer.begin() + static_cast<std::ptrdiff_t>(i * width));
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  checked_status(H5Tset_size(type.get(), width), "H5Tset_size");
  checked_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  hsize_t dims[1] = {values.size()};
  Handle file_space(H5Screate_simple(1, dims, nullptr), H5Sclose, "dataspace of " + path);
  Handle dataset(H5Dcreate2(handles_->file, path.c_str(), type.get(), file_space.get(),
                            handles_->link_create, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose, "creating dataset " + path);
  if (values.empty()) return;
  const bool mine = rank_ == 0;
  hsize_t count[1] = {mine ? values.size() : 0};
  Handle mem_space(H5Screate_simple(1, count, nullptr), H5Sclose, "memory space of " + path);
  if (!mine) {
    checked_status(H5Sselect_none(file_space.get()), "H5Sselect_none");
    checked_status(H5Sselect_none(mem_space.get()), "H5Sselect_none");
  }
  static const char dummy = 0;
  checked_status(H5Dwrite(dataset.get(), type.get(), mem_space.get(), file_space.get(),
                          handles_->transfer, mine ? buffer.data() : &dummy),
                 "writing " + path);
}

void publish_file(const std::string& partial, const std::string& path, Communicator& comm,
                  bool may_replace) {
  comm.barrier();
  std::string problem;
  if (comm.rank() == 0) problem = rename_into_place(partial, path, may_replace);
  if (comm.max(problem.empty() ? 0.0 : 1.0) > 0)
    throw std::runtime_error(comm.rank() == 0 ? problem
                                              : "rank 0 could not give '" + partial +
                                                    "' its name '" + path + "'");
}

// --- Reading -------------------------------------------------------------------------------

H5Input::H5Input(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw std::runtime_error("'" + path + "' is not a readable HDF5 file");
  file_ = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "opening '" + path + "'");
}

H5Input::~H5Input() {
  if (file_ >= 0) H5Fclose(file_);
}

bool H5Input::exists(const std::string& path) const {
  if (path == "/") return true;
  // Checks each link of the path, as H5Lexists requires.
  std::string partial;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    partial = path.substr(0, end);
    if (H5Lexists(file_, partial.c_str(), H5P_DEFAULT) <= 0) return false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

namespace {

std::string attribute_text(hid_t attr) {
  Handle type(H5Aget_type(attr), H5Tclose, "H5Aget_type");
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class == H5T_STRING) {
    if (H5Tis_variable_str(type.get()) > 0) {  // as h5py writes them
      Handle space(H5Aget_space(attr), H5Sclose, "H5Aget_space");
      if (H5Sget_simple_extent_npoints(space.get()) != 1)
        throw std::runtime_error("HDF5: string attribute that is not a single value");
      Handle memory(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
      checked_status(H5Tset_size(memory.get(), H5T_VARIABLE), "H5Tset_size");
      checked_status(H5Tset_cset(memory.get(), H5Tget_cset(type.get())), "H5Tset_cset");
      char* text = nullptr;
      checked_status(H5Aread(attr, memory.get(), &text), "reading attribute");
      std::string value = text != nullptr ? text : "";
      H5free_memory(text);  // one string: what H5Treclaim would free
      return value;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string value(size, '\0');
    checked_status(H5Aread(attr, type.get(), value.data()), "reading attribute");
    value.resize(std::min(value.find('\0'), value.size()));
    return value;
  }
  if (type_class == H5T_INTEGER) {
    std::int64_t value = 0;
    checked_status(H5Aread(attr, H5T_NATIVE_INT64, &value), "reading attribute");
    return std::to_string(value);
  }
  double value = 0;
  checked_status(H5Aread(attr, H5T_NATIVE_DOUBLE, &value), "reading attribute");
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

}  // namespace

H5Input::Kind H5Input::attribute_kind(const std::string& object, const std::string& name) const {
  if (!exists(object) || H5Aexists_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT) <= 0)
    return Kind::missing;
  Handle attr(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "opening attribute " + object + ":" + name);
  Handle space(H5Aget_space(attr.get()), H5Sclose, "H5Aget_space");
  if (H5Sget_simple_extent_npoints(space.get()) != 1) return Kind::other;  // not one value
  Handle type(H5Aget_type(attr.get()), H5Tclose, "H5Aget_type");
  return kind_of_type(type.get());
}

H5Input::Kind H5Input::dataset_kind(const std::string& dataset) const {
  if (!exists(dataset)) return Kind::missing;
  H5O_info_t info;
  if (H5Oget_info_by_name2(file_, dataset.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
      info.type != H5O_TYPE_DATASET)
    return Kind::other;
  Handle data(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose,
              "opening dataset " + dataset);
  Handle space(H5Dget_space(data.get()), H5Sclose, "H5Dget_space");
  if (H5Sget_simple_extent_ndims(space.get()) != 1) return Kind::other;
  Handle type(H5Dget_type(data.get()), H5Tclose, "H5Dget_type");
  return kind_of_type(type.get());
}

std::string H5Input::dataset_problem(const std::string& dataset, int type,
                                     std::uint64_t length) const {
  if (!exists(dataset)) return "is missing";
  H5O_info_t info;
  if (H5Oget_info_by_name2(file_, dataset.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
      info.type != H5O_TYPE_DATASET)
    return "is not a dataset";
  Handle data(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose,
              "opening dataset " + dataset);
  Handle space(H5Dget_space(data.get()), H5Sclose, "H5Dget_space");
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  if (ndims != 1) return "has " + std::to_string(ndims) + " dimensions; 1 expected";
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (dims[0] != length)
    return "holds " + std::to_string(dims[0]) + " elements; " + std::to_string(length) +
           " expected";
  Handle stored(H5Dget_type(data.get()), H5Tclose, "H5Dget_type");
  const hid_t wanted = native(type);
  const H5T_class_t stored_class = H5Tget_class(stored.get());
  if (stored_class != H5Tget_class(wanted) || H5Tget_size(stored.get()) != H5Tget_size(wanted) ||
      (stored_class == H5T_INTEGER && H5Tget_sign(stored.get()) != H5Tget_sign(wanted))) {
    static const char* names[] = {"float64", "int64", "uint64", "int32",
                                  "uint32",  "int16", "uint8"};
    return std::string("has another element type; ") + names[type] + " expected";
  }
  if (attribute_kind(dataset, "checksum") != Kind::integer)
    return "has no checksum (attribute 'checksum', an integer)";
  return "";
}

std::vector<std::pair<std::string, std::string>> H5Input::attributes(
    const std::string& object) const {
  Handle target(H5Oopen(file_, object.c_str(), H5P_DEFAULT), H5Oclose, "opening " + object);
  H5O_info_t info;
  checked_status(H5Oget_info2(target.get(), &info, H5O_INFO_NUM_ATTRS), "H5Oget_info");
  std::vector<std::pair<std::string, std::string>> result;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    Handle attr(
        H5Aopen_by_idx(target.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose, "opening attribute of " + object);
    const ssize_t length = H5Aget_name(attr.get(), 0, nullptr);
    std::string name(static_cast<std::size_t>(std::max<ssize_t>(length, 0)) + 1, '\0');
    H5Aget_name(attr.get(), name.size(), name.data());
    name.resize(static_cast<std::size_t>(std::max<ssize_t>(length, 0)));
    result.emplace_back(name, attribute_text(attr.get()));
  }
  return result;
}

std::string H5Input::string_attribute(const std::string& object, const std::string& name) const {
  Handle attr(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "opening attribute " + object + ":" + name);
  return attribute_text(attr.get());
}

std::int64_t H5Input::int_attribute(const std::string& object, const std::string& name) const {
  Handle attr(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "opening attribute " + object + ":" + name);
  std::int64_t value = 0;
  checked_status(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), "reading attribute " + name);
  return value;
}

double H5Input::double_attribute(const std::string& object, const std::string& name) const {
  Handle attr(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "opening attribute " + object + ":" + name);
  double value = 0;
  checked_status(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value), "reading attribute " + name);
  return value;
}

std::uint64_t H5Input::length(const std::string& dataset) const {
  Handle data(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose,
              "opening dataset " + dataset);
  Handle space(H5Dget_space(data.get()), H5Sclose, "H5Dget_space");
  if (H5Sget_simple_extent_ndims(space.get()) != 1)
    throw std::runtime_error("HDF5: " + dataset + " is not 1-D");
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return dims[0];
}

void H5Input::read_block(const std::string& dataset, int type, void* data, std::uint64_t offset,
                         std::uint64_t count) const {
  if (count == 0) return;
  Handle data_set(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose,
                  "opening dataset " + dataset);
  Handle file_space(H5Dget_space(data_set.get()), H5Sclose, "H5Dget_space");
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_ndims(file_space.get()) != 1)
    throw std::runtime_error("HDF5: " + dataset + " is not 1-D");
  H5Sget_simple_extent_dims(file_space.get(), dims, nullptr);
  if (offset + count > dims[0])
    throw std::runtime_error("HDF5: " + dataset + " has " + std::to_string(dims[0]) +
                             " elements, " + std::to_string(offset + count) + " expected");
  hsize_t h_offset[1] = {offset};
  hsize_t h_count[1] = {count};
  checked_status(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, h_offset, nullptr, h_count, nullptr),
      "selecting block of " + dataset);
  Handle mem_space(H5Screate_simple(1, h_count, nullptr), H5Sclose, "memory space of " + dataset);
  checked_status(
      H5Dread(data_set.get(), native(type), mem_space.get(), file_space.get(), H5P_DEFAULT, data),
      "reading " + dataset);
}

}  // namespace seqlearn
