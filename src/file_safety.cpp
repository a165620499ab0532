#include "seqlearn/file_safety.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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

std::string read_regular_file(const std::string& key, const std::string& path,
                              std::uint64_t max_bytes) {
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
  if (size > max_bytes) {
    ::close(fd);
    throw ConfigError(key + " " + quoted(path) + " is " + std::to_string(size) +
                      " bytes; at most " + std::to_string(max_bytes) + " are read");
  }
  std::string text(size, '\0');
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

std::string rename_into_place(const std::string& partial, const std::string& path,
                              bool may_replace) {
  const std::string appeared = quoted(path) +
                               " appeared while the run was writing it and is kept; the result "
                               "is " +
                               quoted(partial);
  struct stat info {};
  const bool exists = ::lstat(path.c_str(), &info) == 0;
  if (exists && !S_ISREG(info.st_mode))
    return quoted(path) + " is now " + file_type_name(info.st_mode) +
           ", which is never replaced; the result is kept as " + quoted(partial);
  if (exists && may_replace) {
    if (std::rename(partial.c_str(), path.c_str()) == 0) return "";
    return "cannot rename " + quoted(partial) + " to " + quoted(path) + ": " + std::strerror(errno);
  }
  if (exists) return appeared;
#ifdef SYS_renameat2
  constexpr unsigned kRenameNoReplace = 1;  // RENAME_NOREPLACE (linux/fs.h)
  if (::syscall(SYS_renameat2, AT_FDCWD, partial.c_str(), AT_FDCWD, path.c_str(),
                kRenameNoReplace) == 0)
    return "";
  if (errno == EEXIST) return appeared;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return "cannot rename " + quoted(partial) + " to " + quoted(path) + ": " + std::strerror(errno);
#endif
  // A file system without renameat2's flag (some network ones): link() never replaces either.
  if (::link(partial.c_str(), path.c_str()) == 0) {
    ::unlink(partial.c_str());
    return "";
  }
  if (errno == EEXIST) return appeared;
  // No hard links either: the check above is the best there is.
  if (std::rename(partial.c_str(), path.c_str()) == 0) return "";
  return "cannot rename " + quoted(partial) + " to " + quoted(path) + ": " + std::strerror(errno);
}

}  // namespace seqlearn
