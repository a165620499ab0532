#!/usr/bin/env bash
# Checks that the MPI test main reports a failure that happens on rank 1 only (the CTest entry
# mpi_harness_reports_rank_failure).
#   expect_rank_failure.sh NP LAUNCHER...   runs LAUNCHER... (mpiexec -n NP ... this script
#                                           --rank mpi_tests --gtest_also_run_disabled_tests
#                                           --gtest_filter=MpiHarness.*) and checks that:
#     - it exits non-zero, and each of the NP ranks exited non-zero;
#     - rank 0 printed "[rank 1] FAILED MpiHarness.DISABLED_FailsOnRankOne: FILE:LINE: ..."
#       with the test's message, and listed the test as failed;
#     - the passing test after it still passed.
#   expect_rank_failure.sh --rank PROGRAM ARGS...   (what each rank runs) runs PROGRAM and
#                                           prints its exit code.
set -u -o pipefail
if [[ ${1:-} == --rank ]]; then
  shift
  "$@"
  code=$?
  echo "mpi_tests rank exit code: $code"
  # The launcher may end the other ranks as soon as one exits non-zero: let them all report.
  [[ $code -eq 0 ]] || sleep 2
  exit $code
fi
np=${1:?usage: expect_rank_failure.sh NP LAUNCHER...}
shift
out=$("$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g')  # (colours off, in case a launcher's pty turns them on)
code=$?
echo "$out"
echo "---- launcher exit code: $code"
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
has() { grep -Eq -- "$1" <<<"$out"; }
check "launcher exits non-zero" test "$code" -ne 0
check "all $np ranks exit non-zero" test "$(grep -Ec '^mpi_tests rank exit code: [1-9]' <<<"$out")" -eq "$np"
check "rank 0 names the failure on rank 1 with file and line" \
  has '^\[rank 1\] FAILED MpiHarness\.DISABLED_FailsOnRankOne: [^ ]*test_harness\.cpp:[0-9]+: Expected'
check "rank 0 gives the failure's message, naming rank 1" has '^\[rank 1\] .*deliberate failure on rank 1'
check "rank 0 lists the test as failed" has '^\[  FAILED  \] MpiHarness\.DISABLED_FailsOnRankOne'
check "the passing test still passes" has '^\[       OK \] MpiHarness\.PassesOnEveryRank'
check "the passing test is not listed as failed" bash -c "! grep -q 'FAILED  \] MpiHarness.PassesOnEveryRank' <<<\"\$1\"" _ "$out"
[[ $failures -eq 0 ]] && echo "mpi harness: the rank-1 failure is reported"
[[ $failures -eq 0 ]]
