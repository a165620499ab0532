#include "seqlearn/file_safety.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "seqlearn/config.hpp"

namespace seqlearn {
namespace {

std::string quoted(const std::string& text) {
  return "'" + text + "'";
}

ConfigError not_regular(const std::string& key, const std::string& path, mode_t mode) {
  return ConfigError(key + " " + quoted(path) + " is " + file_type_name(mode) +
                     ", not a regular file; give a regular file");
}

}  // namespace

std::string file_type_name(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

std::uint64_t regular_file_size(const std::string& key, const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw ConfigError("cannot read " + key + " " + quoted(path) + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw not_regular(key, path, info.st_mode);
  if (::access(path.c_str(), R_OK) != 0)
    throw ConfigError("cannot read " + key + " " + quoted(path) + ": " + std::strerror(errno));
  return static_cast<std::uint64_t>(info.st_size);
}

namespace {

// The regular file at `path`, opened without blocking and checked again once open: at most
// `limit` bytes of it, and with `whole` a refusal if it holds more.
std::string read_regular(const std::string& key, const std::string& path, std::uint64_t limit,
                         bool whole) {
  regular_file_size(key, path);  // the message for a missing or special file
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw ConfigError("cannot read " + key + " " + quoted(path) + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    const mode_t mode = info.st_mode;
    ::close(fd);
    throw not_regular(key, path, mode);
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (whole && size > limit) {
    ::close(fd);
    throw ConfigError(key + " " + quoted(path) + " is " + std::to_string(size) +
                      " bytes; at most " + std::to_string(limit) + " are read");
  }
  // Only as far as the size promises: a "regular" file of /proc (size 0) may block on read.
  std::string text(std::min(size, limit), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw ConfigError("cannot read " + key + " " + quoted(path) + ": " + std::strerror(error));
    }
    if (n == 0) break;  // shrank meanwhile
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(done);
  return text;
}

}  // namespace

std::string read_regular_file_start(const std::string& key, const std::string& path,
                                    std::uint64_t bytes) {
  return read_regular(key, path, bytes, false);
}

std::string read_regular_file(const std::string& key, const std::string& path,
                              std::uint64_t max_bytes) {
  return read_regular(key, path, max_bytes, true);
}

namespace {

// A folder's device and inode; a file's also its status-change time, since a file deleted and
// another created at its name often gets the freed inode number.
struct Identity {
  dev_t device = 0;
  ino_t inode = 0;
  std::int64_t changed_ns = 0;  // 0 for folders
  bool operator==(const Identity&) const = default;
};
Identity file_identity_of(const struct stat& info) {
  return {info.st_dev, info.st_ino,
          static_cast<std::int64_t>(info.st_ctim.tv_sec) * 1000000000 + info.st_ctim.tv_nsec};
}
struct ClaimedPlace {
  Identity folder;
  std::optional<Identity> file;  // the regular file there at the claim, or ours since
};
std::map<std::string, ClaimedPlace>& claimed_places() {
  static std::map<std::string, ClaimedPlace> places;
  return places;
}
std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::optional<Identity> folder_identity(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return {};
  return Identity{info.st_dev, info.st_ino, 0};
}
std::optional<Identity> file_identity_at(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return {};
  return file_identity_of(info);
}

}  // namespace

void remember_claimed_place(const std::string& path) {
  ClaimedPlace place;
  if (const auto folder = folder_identity(folder_of(path))) place.folder = *folder;
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode))
    place.file = file_identity_of(info);
  claimed_places()[path] = place;
}

std::string claimed_folder_changed(const std::string& path) {
  const auto found = claimed_places().find(path);
  if (found == claimed_places().end()) return "";
  if (folder_identity(folder_of(path)) == found->second.folder) return "";
  return "the folder of " + quoted(path) + " is no longer the one the run claimed (moved, or " +
         "a symbolic link put in its place)";
}

std::string rename_into_place(const std::string& partial, const std::string& path,
                              bool may_replace) {
  if (const std::string why = claimed_folder_changed(path); !why.empty())
    return why + "; nothing is renamed there: the result is " + quoted(partial);
  const auto claimed = claimed_places().find(path);
  const auto remember_ours = [&] {
    if (claimed != claimed_places().end()) claimed->second.file = file_identity_at(path);
  };
  const std::string appeared = quoted(path) +
                               " appeared while the run was writing it and is kept; the result "
                               "is " +
                               quoted(partial);
  struct stat info {};
  const bool exists = ::lstat(path.c_str(), &info) == 0;
  if (exists && !S_ISREG(info.st_mode))
    return quoted(path) + " is now " + file_type_name(info.st_mode) +
           ", which is never replaced; the result is kept as " + quoted(partial);
  // --overwrite replaces the file that was there at the claim (or this run's own), not one
  // that appeared since.
  const bool appeared_since =
      claimed != claimed_places().end() && claimed->second.file != file_identity_of(info);
  if (exists && may_replace && !appeared_since) {
    if (std::rename(partial.c_str(), path.c_str()) == 0) {
      remember_ours();
      return "";
    }
    return "cannot rename " + quoted(partial) + " to " + quoted(path) + ": " + std::strerror(errno);
  }
  if (exists) return appeared;
#ifdef SYS_renameat2
  constexpr unsigned kRenameNoReplace = 1;  // RENAME_NOREPLACE (linux/fs.h)
  if (::syscall(SYS_renameat2, AT_FDCWD, partial.c_str(), AT_FDCWD, path.c_str(),
                kRenameNoReplace) == 0) {
    remember_ours();
    return "";
  }
  if (errno == EEXIST) return appeared;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return "cannot rename " + quoted(partial) + " to " + quoted(path) + ": " + std::strerror(errno);
#endif
  // A file system without renameat2's flag (some network ones): link() never replaces either.
  if (::link(partial.c_str(), path.c_str()) == 0) {
    ::unlink(partial.c_str());
    remember_ours();
    return "";
  }
  if (errno == EEXIST) return appeared;
  // No hard links either: the check above is the best there is.
  if (std::rename(partial.c_str(), path.c_str()) == 0) {
    remember_ours();
    return "";
  }
  return "cannot rename " + quoted(partial) + " to " + quoted(path) + ": " + std::strerror(errno);
}

}  // namespace seqlearn
