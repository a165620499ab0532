// Claiming the files a run will write, before it simulates (issue 9).
//
// Every file the run may write (the output, the checkpoint, their `.partial` names, and the
// folders they go into) is checked before anything is simulated, and each file is claimed
// with a lock file next to it (`NAME.lock`, created exclusively and held with flock for the
// run's life), so that two runs writing the same file cannot both proceed. Files are compared
// by identity (device and inode of the file, or of its deepest existing folder plus the rest
// of the name), not by text: `o.h5`, `./o.h5` and `link/o.h5` through a symbolic link to `.`
// are one file. A lock whose run died (killed, aborted) is held by no process and is taken over.
// A refused run leaves nothing behind: the claim removes its lock files and the folders it
// created that are still empty.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace seqlearn {

// A file the run will write and the key that names it in messages ("output.file", ...).
struct PlannedFile {
  std::string key;
  std::string path;
  std::string option;  // how to give another one, for messages: "--output"
};

// Identity of a file that may not exist yet: (device, inode) of the file, or of its deepest
// existing ancestor folder with the rest of the (lexically normalised) path.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  std::string rest;
  bool operator==(const FileIdentity&) const = default;
};
FileIdentity file_identity(const std::string& path);

class OutputClaim {
 public:
  // Checks every planned file (distinct files, none of them a file the run reads (`inputs`,
  // compared by identity: a hard link too); not a folder; not existing unless `overwrite`;
  // its folder a writable folder or creatable), then creates the missing folders and takes
  // each file's lock. Throws ConfigError naming the file's key (and, for a file that another
  // run holds, that run); nothing is left behind then.
  OutputClaim(const std::vector<PlannedFile>& files, bool overwrite,
              const std::vector<PlannedFile>& inputs = {});
  // Removes the lock files, then the folders it created if they are empty.
  ~OutputClaim();
  OutputClaim(const OutputClaim&) = delete;
  OutputClaim& operator=(const OutputClaim&) = delete;

 private:
  void release() noexcept;

  struct Lock {
    std::string path;
    int fd = -1;
    int folder_fd = -1;  // its folder as opened at the claim: removed there, even if the
                         // folder's path leads elsewhere since
  };
  std::vector<Lock> locks_;
  std::vector<std::string> created_folders_;  // in creation order (parents first)
};

}  // namespace seqlearn
