# FindRandom123: the header-only Random123 library (Philox counter-based random numbers).
#
# Looks for Random123/philox.h under, in this order:
#   RANDOM123_INCLUDE_DIR       the include folder itself (-DRANDOM123_INCLUDE_DIR=/x/include)
#   Random123_ROOT (CMake or environment variable; also RANDOM123_ROOT): an install prefix
#                               (its include/) or the unpacked source tree (its include/)
#   CPATH                       the folders of the compilers' include path (module systems set it)
#   then CMAKE_PREFIX_PATH and the system folders (/usr/include, Debian's librandom123-dev)
# Defines Random123_FOUND, RANDOM123_INCLUDE_DIR (cached) and the imported target
# Random123::Random123 (an INTERFACE target that adds the include folder as a system include).
find_path(RANDOM123_INCLUDE_DIR Random123/philox.h
  HINTS ${Random123_ROOT} ${RANDOM123_ROOT} ENV Random123_ROOT ENV RANDOM123_ROOT ENV CPATH
  PATH_SUFFIXES include
  DOC "folder that holds Random123/philox.h (header-only Random123)")

# A folder given by hand that lacks the header: not found (with the message below), rather than
# a compile error later.
set(random123_given "")
if(RANDOM123_INCLUDE_DIR AND NOT EXISTS "${RANDOM123_INCLUDE_DIR}/Random123/philox.h")
  set(random123_given " in RANDOM123_INCLUDE_DIR=${RANDOM123_INCLUDE_DIR}")
  set(RANDOM123_INCLUDE_DIR "RANDOM123_INCLUDE_DIR-NOTFOUND")  # shadows the cache entry
endif()

include(FindPackageHandleStandardArgs)
string(CONCAT random123_reason
  "no Random123/philox.h${random123_given} (Random123 is header-only, "
  "https://github.com/DEShawResearch/random123). "
  "Give its include folder with -DRANDOM123_INCLUDE_DIR=/path/to/include, or its prefix with "
  "-DRandom123_ROOT=/path (with include/Random123/philox.h below it), or add the include folder "
  "to CPATH. On Debian/Ubuntu: apt-get install librandom123-dev.")
find_package_handle_standard_args(Random123
  REQUIRED_VARS RANDOM123_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "${random123_reason}")

if(Random123_FOUND AND NOT TARGET Random123::Random123)
  add_library(Random123::Random123 INTERFACE IMPORTED)
  set_target_properties(Random123::Random123 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RANDOM123_INCLUDE_DIR}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${RANDOM123_INCLUDE_DIR}")
endif()
mark_as_advanced(RANDOM123_INCLUDE_DIR)
