#include "seqlearn/output_claim.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "seqlearn/config.hpp"
#include "seqlearn/file_safety.hpp"

namespace seqlearn {
namespace {

namespace fs = std::filesystem;

fs::path absolute_normal(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  return (ec ? fs::path(path) : absolute).lexically_normal();
}

// The deepest ancestor of `folder` (itself included) that exists.
fs::path deepest_existing(fs::path folder) {
  struct stat info {};
  while (::stat(folder.c_str(), &info) != 0 && folder.has_relative_path())
    folder = folder.parent_path();
  return folder;
}

std::string quoted(const std::string& text) {
  return "'" + text + "'";
}

// What a lock file says about its holder, for the other run's message.
std::string holder_text(int fd) {
  char buffer[512] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "a run that is starting" : text;
}

// A lock file is ours to take over (its run died) only if it is one: empty (a run that died
// before describing itself) or beginning as my_description writes it.
bool seqlearn_lock(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer, 0);
  static constexpr char kStart[] = "seqlearn_mpi pid ";
  return n == 0 || (n >= static_cast<ssize_t>(sizeof kStart - 1) &&
                    std::strncmp(buffer, kStart, sizeof kStart - 1) == 0);
}

std::string my_description(const PlannedFile& file) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  char when[64] = {};
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
  return "seqlearn_mpi pid " + std::to_string(::getpid()) + " on " + host + " since " + when +
         ", writing " + file.key + " " + quoted(file.path) + "\n";
}

}  // namespace

FileIdentity file_identity(const std::string& path) {
  fs::path p = absolute_normal(path);
  std::vector<std::string> rest;
  struct stat info {};
  while (::stat(p.c_str(), &info) != 0) {
    if (!p.has_relative_path()) return {0, 0, absolute_normal(path).string()};
    rest.push_back(p.filename().string());
    p = p.parent_path();
  }
  std::string tail;
  for (auto it = rest.rbegin(); it != rest.rend(); ++it) tail += "/" + *it;
  return {info.st_dev, info.st_ino, tail};
}

namespace {

// A planned file under one of the names the run writes (NAME, NAME.partial, NAME.lock).
struct Name {
  std::size_t file;
  std::string path;
  FileIdentity id;
};

// Every name of every planned file; ConfigError if two files are one (by identity).
std::vector<Name> distinct_names(const std::vector<PlannedFile>& files) {
  std::vector<Name> names;
  for (std::size_t i = 0; i < files.size(); ++i)
    for (const char* suffix : {"", ".partial", ".lock"})
      names.push_back({i, files[i].path + suffix, file_identity(files[i].path + suffix)});
  for (std::size_t a = 0; a < names.size(); ++a)
    for (std::size_t b = a + 1; b < names.size(); ++b)
      if (names[a].file != names[b].file && names[a].id == names[b].id) {
        const PlannedFile& first = files[names[a].file];
        const PlannedFile& second = files[names[b].file];
        throw ConfigError(second.key + " " + quoted(second.path) + " is the same file as " +
                          first.key + " " + quoted(first.path) + " (" + names[b].path + " = " +
                          names[a].path + "); they must differ");
      }
  return names;
}

// A run never writes over a file it reads (--overwrite or not): compared by identity, so a
// hard link or another spelling of the name is caught too.
void check_no_input_written(const std::vector<PlannedFile>& files, const std::vector<Name>& names,
                            const std::vector<PlannedFile>& inputs) {
  for (const PlannedFile& input : inputs) {
    if (input.path.empty()) continue;
    struct stat read {};
    if (::stat(input.path.c_str(), &read) != 0) continue;  // its reader says what is wrong
    for (const Name& name : names) {
      struct stat written {};
      if (::stat(name.path.c_str(), &written) == 0 && written.st_dev == read.st_dev &&
          written.st_ino == read.st_ino)
        throw ConfigError(files[name.file].key + " " + quoted(files[name.file].path) + " is " +
                          input.key + " " + quoted(input.path) +
                          " (the same file): a run never writes over a file it reads; choose "
                          "another " +
                          files[name.file].option);
    }
  }
}

// The file's name: not a lock's or an unfinished file's, not too long for Open MPI's MPI-IO.
void check_name(const PlannedFile& file) {
  // NAME.lock and NAME.partial are another run's lock and unfinished file: a run on such a
  // name could delete them, and its own would be taken for stale ones.
  for (const char* suffix : {".lock", ".partial"})
    if (file.path.size() > std::strlen(suffix) &&
        file.path.compare(file.path.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
      throw ConfigError(
          file.key + " " + quoted(file.path) + " ends in " + suffix + ", the name of a run's " +
          (suffix[1] == 'l' ? "lock file" : "unfinished file") + "; choose another " + file.option);
  // Open MPI's MPI-IO (its shared-file-pointer component) names a file in /tmp after the
  // file being written and overflows a buffer on long names (a crash after the whole run,
  // found with 240 characters): refuse them before anything is simulated.
  constexpr std::size_t kLongestName = 200;
  const std::size_t name_length = fs::path(file.path + ".partial").filename().string().size();
  if (name_length > kLongestName)
    throw ConfigError(file.key + " " + quoted(file.path) + ": its file name (with .partial) is " +
                      std::to_string(name_length) + " bytes long; at most " +
                      std::to_string(kLongestName) +
                      " are allowed (Open MPI's MPI-IO fails on longer names)");
  // The same component names a lock file after the whole path (".locktest." and the rank
  // appended, in a buffer of 256 bytes): a longer absolute path aborted the run after it had
  // simulated, its output lost (found by a hostile round).
  constexpr std::size_t kLongestPath = 230;
  const std::size_t path_length = absolute_normal(file.path + ".partial").string().size();
  if (path_length > kLongestPath)
    throw ConfigError(file.key + " " + quoted(file.path) +
                      ": its absolute path (with .partial) is " + std::to_string(path_length) +
                      " bytes long; at most " + std::to_string(kLongestPath) +
                      " are allowed (Open MPI's MPI-IO aborts on longer paths); write it in a "
                      "folder with a shorter path");
}

// What is at the file's names now: only regular files, and none without `overwrite`.
void check_existing(const PlannedFile& file, bool overwrite) {
  check_name(file);
  // Only regular files are ever replaced, even with --overwrite: a device (/dev/null), a
  // FIFO or a symbolic link at any of the run's names is refused (file_safety.hpp).
  for (const char* suffix : {"", ".partial", ".lock"}) {
    const std::string name = file.path + suffix;
    struct stat info {};
    if (::lstat(name.c_str(), &info) != 0 || S_ISREG(info.st_mode)) continue;
    if (*suffix == '\0')
      throw ConfigError(file.key + " " + quoted(file.path) + " is " + file_type_name(info.st_mode) +
                        ", not a regular file; seqlearn replaces only regular files, even "
                        "with --overwrite: choose another " +
                        file.option);
    throw ConfigError(file.key + " " + quoted(file.path) + ": " + quoted(name) +
                      ", where the run " + (suffix[1] == 'l' ? "keeps its lock" : "writes it") +
                      ", is " + file_type_name(info.st_mode) +
                      "; remove it (only regular files are used there)");
  }
  struct stat info {};
  // A regular NAME.partial is a run's unfinished file (one that died) or someone's own: not
  // deleted without --overwrite.
  if (::lstat((file.path + ".partial").c_str(), &info) == 0 && !overwrite)
    throw ConfigError(file.key + " " + quoted(file.path) + ": " + quoted(file.path + ".partial") +
                      " exists (the unfinished file of a run that stopped, or another file); "
                      "remove it or pass --overwrite to replace it");
  if (::lstat(file.path.c_str(), &info) == 0 && !overwrite)
    throw ConfigError(file.key + " " + quoted(file.path) + " exists; choose another " +
                      file.option + " or pass --overwrite to replace it");
}

// Checks each file and its folder; returns the missing folders (parents first) with the key.
std::vector<std::pair<fs::path, std::string>> check_files_and_folders(
    const std::vector<PlannedFile>& files, bool overwrite) {
  std::vector<std::pair<fs::path, std::string>> to_create;  // missing folders (parents first), key
  for (const auto& file : files) {
    check_existing(file, overwrite);
    const fs::path folder = absolute_normal(file.path).parent_path();
    const fs::path existing = deepest_existing(folder);
    std::error_code ec;
    if (!fs::is_directory(existing, ec))
      throw ConfigError(file.key + " " + quoted(file.path) + ": " + quoted(existing.string()) +
                        " is not a folder");
    if (::access(existing.c_str(), W_OK | X_OK) != 0)
      throw ConfigError(file.key + " " + quoted(file.path) + ": cannot write to folder " +
                        quoted(existing.string()));
    std::vector<std::pair<fs::path, std::string>> missing;
    for (fs::path p = folder; p != existing && p.has_relative_path(); p = p.parent_path())
      missing.emplace_back(p, file.key);
    to_create.insert(to_create.end(), missing.rbegin(), missing.rend());
  }
  return to_create;
}

// Creates the missing folders, recording those it made in `created`.
void create_folders(const std::vector<std::pair<fs::path, std::string>>& to_create,
                    std::vector<std::string>& created) {
  for (const auto& [folder, key] : to_create) {
    if (::mkdir(folder.c_str(), 0777) == 0) {
      created.push_back(folder.string());
      continue;
    }
    const int error = errno;
    struct stat info {};
    if (error == EEXIST && ::stat(folder.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) continue;
    if (::lstat(folder.c_str(), &info) == 0)  // the name leads to no folder
      throw ConfigError(
          key + ": " + quoted(folder.string()) +
          (S_ISLNK(info.st_mode) ? " is a symbolic link to a missing folder" : " is not a folder"));
    throw ConfigError(key + ": cannot create folder " + quoted(folder.string()) + ": " +
                      std::strerror(error));
  }
}

// The file's lock `lock`, created or taken over from a run that died, held with flock and
// checked to be a seqlearn_mpi lock file; returns its descriptor. ConfigError if another run
// holds it or it cannot be claimed.
int take_lock(const PlannedFile& file, const std::string& lock) {
  int fd = -1;
  for (int attempt = 0; attempt < 20 && fd < 0; ++attempt) {
    // The claim: create the lock file exclusively ...
    fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    const bool created = fd >= 0;
    if (fd < 0 && errno == ENOENT) {  // a folder removed under us (a refused run's)
      std::error_code made;
      fs::create_directories(absolute_normal(file.path).parent_path(), made);
      if (made)
        throw ConfigError(file.key + " " + quoted(file.path) +
                          ": cannot create its folder: " + made.message());
      continue;
    }
    if (fd < 0 && errno != EEXIST)
      throw ConfigError(file.key + " " + quoted(file.path) + ": cannot create " + quoted(lock) +
                        ": " + std::strerror(errno));
    // ... or find one: held (flock) by a live run, or left by a run that died.
    // Never through a symbolic link, never blocking on a FIFO: only a regular file is a lock.
    if (fd < 0) fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) continue;  // removed meanwhile by its run: try again
    struct stat opened {};
    if (fd < 0 || ::fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode)) {
      const std::string what =
          fd < 0 ? (errno == ELOOP ? std::string("a symbolic link") : std::strerror(errno))
                 : file_type_name(opened.st_mode);
      if (fd >= 0) ::close(fd);
      throw ConfigError(file.key + " " + quoted(file.path) + ": the lock file " + quoted(lock) +
                        " is " + what + "; remove it (only a regular file is used there)");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      // A file system without flock (e.g. Lustre mounted noflock): the exclusive creation
      // is the claim; a lock file found there cannot be told from a live run's.
      const bool unsupported = errno != EWOULDBLOCK && errno != EINTR;
      if (created && unsupported) break;
      const std::string holder =
          holder_text(fd) + (unsupported ? "; if no run is writing it, remove the lock file" : "");
      ::close(fd);
      throw ConfigError(file.key + " " + quoted(file.path) + " is being written by another run (" +
                        holder + "; lock file " + quoted(lock) +
                        "); wait for it to end or choose another " + file.option);
    }
    // Locked: valid only if the name still leads to this file (not one unlinked by a run
    // that just ended).
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) != 0 || ::stat(lock.c_str(), &named) != 0 ||
        held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0)
    throw ConfigError(file.key + " " + quoted(file.path) + ": cannot claim " + quoted(lock));
  if (!seqlearn_lock(fd)) {
    ::close(fd);
    throw ConfigError(file.key + " " + quoted(file.path) + ": " + quoted(lock) +
                      " exists and is not a seqlearn lock file (it holds other text); "
                      "remove it");
  }
  return fd;
}

}  // namespace

OutputClaim::OutputClaim(const std::vector<PlannedFile>& files, bool overwrite,
                         const std::vector<PlannedFile>& inputs) {
  // 1. Checks that change nothing on disk.
  const std::vector<Name> names = distinct_names(files);
  check_no_input_written(files, names, inputs);
  const auto to_create = check_files_and_folders(files, overwrite);

  // 2. Folders and locks; on any failure, undo what was done here.
  try {
    create_folders(to_create, created_folders_);
    for (const auto& file : files) {
      const std::string lock = file.path + ".lock";
      const int fd = take_lock(file, lock);
      const int folder_fd =
          ::open(absolute_normal(lock).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      locks_.push_back({lock, fd, folder_fd});
      const std::string me = my_description(file);
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
        // The lock holds without its description; the other run's message says less.
      }
    }
    // Checked again now that the files are ours (a run may have ended meanwhile).
    for (const auto& file : files) check_existing(file, overwrite);
    for (const auto& file : files) remember_claimed_place(file.path);
  } catch (...) {
    release();
    throw;
  }
}

OutputClaim::~OutputClaim() {
  release();
}

void OutputClaim::release() noexcept {
  // Unlink before closing: a run that opened the old lock file sees that it is no longer the
  // one with that name once it gets the flock.
  for (auto& lock : locks_) {
    // In the folder where it was made, and only if the name there is still our lock file.
    const std::string name = fs::path(lock.path).filename().string();
    const int at = lock.folder_fd >= 0 ? lock.folder_fd : AT_FDCWD;
    const std::string& where = lock.folder_fd >= 0 ? name : lock.path;
    struct stat held {
    }, named{};
    if (::fstat(lock.fd, &held) == 0 &&
        ::fstatat(at, where.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino)
      ::unlinkat(at, where.c_str(), 0);
    ::close(lock.fd);
    if (lock.folder_fd >= 0) ::close(lock.folder_fd);
  }
  locks_.clear();
  for (auto it = created_folders_.rbegin(); it != created_folders_.rend(); ++it)
    ::rmdir(it->c_str());  // only if empty: a folder holding a result stays
  created_folders_.clear();
}

}  // namespace seqlearn
