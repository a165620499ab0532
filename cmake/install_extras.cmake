# Run by `cmake --install` (install(CODE) in CMakeLists.txt), with CMAKE_INSTALL_PREFIX the
# install prefix P and SEQLEARN_SOURCE_DIR, SEQLEARN_STAGING_DIR, SEQLEARN_BINDIR,
# SEQLEARN_DATADIR set. file(INSTALL) honours DESTDIR and prints what it installs.
#   python/  -> P/lib/seqlearn/python (if the tree has a Python package folder)
#   jobs/*   -> P/share/seqlearn/jobs, each job's `source ".../jobs/lib.sh"` pointed at the
#               installed lib.sh, and lib.sh's SEQLEARN_INSTALLED_BIN_DIR="" set to P/bin.
if(EXISTS "${SEQLEARN_SOURCE_DIR}/python")
  file(INSTALL "${SEQLEARN_SOURCE_DIR}/python" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/seqlearn"
       PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE PATTERN "*.egg-info" EXCLUDE PATTERN "build" EXCLUDE)
endif()

set(jobs_dir "${CMAKE_INSTALL_PREFIX}/${SEQLEARN_DATADIR}/seqlearn/jobs")
set(bin_dir "${CMAKE_INSTALL_PREFIX}/${SEQLEARN_BINDIR}")
set(staged "${SEQLEARN_STAGING_DIR}/jobs")
file(REMOVE_RECURSE "${staged}")
file(GLOB jobs "${SEQLEARN_SOURCE_DIR}/jobs/*")
foreach(job IN LISTS jobs)
  get_filename_component(name "${job}" NAME)
  file(READ "${job}" text)
  string(REGEX REPLACE "source \"[^\"\n]*/jobs/lib\\.sh\"" "source \"${jobs_dir}/lib.sh\"" text "${text}")
  string(REPLACE "SEQLEARN_INSTALLED_BIN_DIR=\"\"" "SEQLEARN_INSTALLED_BIN_DIR=\"${bin_dir}\"" text "${text}")
  file(WRITE "${staged}/${name}" "${text}")
endforeach()
file(INSTALL "${staged}/" DESTINATION "${jobs_dir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
