# Shared by the command-line tests (sourced, bash): the program under test, a scratch folder
# removed at exit (with any tmpfs a test mounted directly under it), and check().
#   source "$(dirname "$0")/lib.sh"
#   cli_begin NAME "$1"      binary (absolute path), work (the current folder), failures=0
#   check DESCRIPTION COMMAND...     runs COMMAND; prints ok/FAIL and counts failures
#   cli_end NAME             the closing line; the script's exit status (0: all passed)

cli_begin() {
  local name=$1
  binary=${2:-}
  [[ -n "$binary" ]] || { echo "usage: $name SEQLEARN_MPI (the program to test; no default)"; exit 1; }
  [[ -x "$binary" ]] || { echo "FAIL no program at $binary"; exit 1; }
  binary=$(realpath "$binary")
  work=$(mktemp -d)
  # shellcheck disable=SC2154  # work is set here, read when the trap runs
  trap 'for mount in "$work"/*/; do umount "$mount" 2>/dev/null; done; rm -rf "$work"' EXIT
  cd "$work" || exit 1
  failures=0
}

check() {
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

cli_end() {
  [[ $failures -eq 0 ]] && echo "$1: all checks passed"
  [[ $failures -eq 0 ]]
}
