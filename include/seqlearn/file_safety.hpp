// The rules for every file the program reads or writes (issue 18, docs/design.md "Files"):
//   - a file read is a regular file (a symbolic link to one is fine), checked before its
//     content is read, with a size from the file checked before anything is allocated: a FIFO,
//     a device or a folder is refused with exit code 2, never read (a FIFO would block, a
//     device such as /dev/zero would grow memory without end);
//   - a file written is created exclusively (O_EXCL, which never follows a symbolic link) under
//     a name the run has claimed, and given its final name only if that name is free or, with
//     --overwrite, holds a regular file: nothing else there is ever replaced, and a file that
//     appeared at the final name during the run is kept (the result stays under its .partial
//     name, and the message says so).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace seqlearn {

// What a file-system object of this mode is, for messages: "a regular file", "a folder",
// "a symbolic link", "a FIFO (named pipe)", "a character device", "a block device", "a socket".
std::string file_type_name(mode_t mode);

// The size of the regular file at `path` (symbolic links followed). Throws ConfigError naming
// `key` if it is missing, unreadable or not a regular file.
std::uint64_t regular_file_size(const std::string& key, const std::string& path);

// The whole content of the regular file at `path`, at most `max_bytes` long (ConfigError naming
// `key` otherwise). Opened without blocking and checked again once open (fstat), so a FIFO put
// in its place between the check and the open is refused too.
std::string read_regular_file(const std::string& key, const std::string& path,
                              std::uint64_t max_bytes);

// The places a run has claimed (output_claim.hpp): remembers the identity of `path`'s folder
// and of the regular file at `path`, if any, so that a folder swapped for another (a symbolic
// link put in its place) or a file put at `path` after the claim is noticed before anything is
// written there or renamed over it. Process-wide; only the claiming process (rank 0) uses it.
void remember_claimed_place(const std::string& path);
// Why `path`'s folder is no longer the one claimed ("" if it is, or was never claimed).
std::string claimed_folder_changed(const std::string& path);

// The first `bytes` bytes (fewer if the file is shorter) of the regular file at `path`, read as
// read_regular_file reads.
std::string read_regular_file_start(const std::string& key, const std::string& path,
                                    std::uint64_t bytes);

// Gives `partial` the name `path`: a free name is taken without ever replacing what appears
// there meanwhile (renameat2 RENAME_NOREPLACE, or link + unlink where the file system lacks
// it); with `may_replace`, a regular file there is replaced, anything else is not, and of a
// claimed `path` only the file that was there at the claim or that this process put there (a
// file that appeared meanwhile is kept). Nothing is renamed when the folder is no longer the
// claimed one. Returns "" on success, else why not (the file stays at `partial`).
std::string rename_into_place(const std::string& partial, const std::string& path,
                              bool may_replace);

}  // namespace seqlearn
