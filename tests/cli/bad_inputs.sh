#!/usr/bin/env bash
# Runs every row of bad_inputs.txt under mpirun at NP ranks and checks: exit code 2, exactly one
# line from the program on stderr naming the key, no output file, finished within 10 s.
# Usage: bad_inputs.sh SEQLEARN_MPI NP
set -u
binary=$1
np=$2
table=$(dirname "$0")/bad_inputs.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
rows=0
while IFS='|' read -r key args; do
  key=$(echo "$key" | xargs)
  [[ -z "$key" || "$key" == \#* ]] && continue
  rows=$((rows + 1))
  out="$work/out_$rows.h5"
  eval "set -- $args"
  # A short run unless the row is about the protocol itself.
  [[ "$args" == *--run.protocol* ]] || set -- --run.protocol train:100 "$@"
  timeout 10 mpirun -n "$np" --oversubscribe "$binary" --output "$out" "$@" \
    </dev/null >"$work/stdout" 2>"$work/stderr"
  code=$?
  # mpirun adds its own banner about the non-zero exit; count the program's lines only.
  grep '^seqlearn_mpi' "$work/stderr" >"$work/ours"
  lines=$(grep -c . "$work/ours")
  if [[ $code -ne 2 ]]; then
    echo "FAIL [$key] $args: exit code $code, expected 2"; failures=$((failures + 1))
  elif [[ $lines -ne 1 ]] || ! grep -q -- "$key" "$work/ours"; then
    echo "FAIL [$key] $args: expected one line naming '$key', got:"; sed 's/^/    /' "$work/stderr"
    failures=$((failures + 1))
  elif [[ -e "$out" || -e "$out.partial" ]]; then
    echo "FAIL [$key] $args: an output file was written"; failures=$((failures + 1))
  else
    echo "ok   [$key] $(cat "$work/ours")"
  fi
done <"$table"
echo "$((rows - failures)) passed, $failures failed"
[[ $failures -eq 0 && $rows -ge 30 ]]
