#!/usr/bin/env bash
# On the 16-core machine, after bench/device/prepare.sh here (../shared/device/README.md):
#   source .device/expose-libs.sh && bash bench/device/hybrid.sh
# Threads against ranks on equal cores, each point launched by scripts/launch.sh R T (bound,
# R x T <= cores) with --threads T:
#   1. the default experiment (10x5, train 100 s + test 3 s) at 1 x 1, 1 x 2 and 2 x 1, REPS
#      alternating runs, medians; with SEQLEARN_BIN_OLD set, that program's 1 x 1 and 1 x 2 too
#      (before/after on one machine); 1 x 2 once more with OMP_WAIT_POLICY=active;
#   2. threads per rank against grid size (the threshold of --threads 0): 16x16, 32x32, 64x64
#      (fixed_indegree, periodic) at 1, 2, 4, 8 threads on one rank, and what --threads 0 picks;
#   3. the 256x256 grid on all 16 cores as 16 x 1, 8 x 2, 4 x 4, 2 x 8, 1 x 16 (MS ms).
# Markdown tables on stdout and in $OUT/hybrid.md; every run's bench: line in
# $OUT/hybrid_runs.txt. Flat files only (the device tool returns at most 8).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/device/lib.sh
old=${SEQLEARN_BIN_OLD:-}
REPS=${REPS:-5}
MS=${MS:-500}
GRIDS=${GRIDS:-"16x16 32x32 64x64"}
THREADS_LIST=${THREADS_LIST:-"1 2 4 8"}
SHAPES=${SHAPES:-"16x1 8x2 4x4 2x8 1x16"}
BIG_GRID=${BIG_GRID:-256x256}
tables=$out/hybrid.md
runs=$out/hybrid_runs.txt
: >"$runs"

{
  echo "# threads against ranks on the lent machine, $(date -u +%FT%TZ)"
  echo
  echo "cores: $(seqlearn_cores); $(lscpu | sed -n 's/^Model name:[[:space:]]*//p');" \
       "program: $("$bin" --version 2>&1 | head -1)"
  echo
} | tee "$tables"

# 1. The default experiment.
for ((i = 0; i < REPS; ++i)); do
  point "default 1x1" 1 1 "$bin"
  point "default 1x2" 1 2 "$bin"
  point "default 2x1" 2 1 "$bin"
  if [[ -n "$old" ]]; then
    point "default 1x1 old" 1 1 "$old"
    point "default 1x2 old" 1 2 "$old"
  fi
done
for ((i = 0; i < 3; ++i)); do POINT_WAIT_POLICY=active point "default 1x2 active" 1 2 "$bin"; done
{
  echo "## default experiment: medians of $REPS alternating runs (3 for 'active')"
  echo
  echo "| run | RTF median | RTF runs | STDP updates/s (median) |"
  echo "|---|---|---|---|"
  for label in "default 1x1" "default 1x2" "default 2x1" "default 1x1 old" "default 1x2 old" \
               "default 1x2 active"; do
    grep -qF "$label|" "$runs" || continue
    echo "| $label | $(field "$label" rtf | median) | $(field "$label" rtf | tr '\n' ' ')|" \
         "$(field "$label" stdp_per_s | median) |"
  done
  echo
} | tee -a "$tables"

# 2. Threads per rank against grid size.
{
  echo "## one rank, threads against grid size (fixed_indegree, periodic; 2 runs, the faster)"
  echo
  echo "| grid | synapses | threads | RTF | speedup vs 1 thread | STDP updates/s | --threads 0 picks |"
  echo "|---|---|---|---|---|---|---|"
} | tee -a "$tables"
for grid in $GRIDS; do
  case $grid in 16x16 | 32x32) ms=2000 ;; *) ms=1000 ;; esac
  args=(--network.grid "$grid" --network.connectivity fixed_indegree --network.boundary periodic)
  for t in $THREADS_LIST; do
    point "$grid T$t" 1 "$t" "$bin" "${args[@]}" --run.protocol "train:$ms"
    point "$grid T$t" 1 "$t" "$bin" "${args[@]}" --run.protocol "train:$ms"
  done
  picked=$(OMP_NUM_THREADS=16 "$bin" --threads 0 --output /tmp/hybrid.h5 --overwrite --record.dt_rec 0 \
    "${args[@]}" --run.protocol train:1 2>&1 | sed -n 's/.*rank(s) x \([0-9]*\) thread(s) (\([^)]*\)).*/\1 (\2)/p')
  one=$(field "$grid T1" rtf | sort -g | head -1)
  for t in $THREADS_LIST; do
    rtf=$(field "$grid T$t" rtf | sort -g | head -1)
    echo "| $grid | $(field "$grid T$t" synapses | head -1) | $t | $rtf |" \
         "$(awk -v a="$one" -v b="$rtf" 'BEGIN { printf "%.2f", a / b }') |" \
         "$(field "$grid T$t" stdp_per_s | sort -g | tail -1) | $([[ $t == 1 ]] && echo "$picked") |"
  done | tee -a "$tables"
done
echo | tee -a "$tables"

# 3. The big grid on all cores, ranks x threads = 16.
{
  echo "## $BIG_GRID, $MS ms with learning, ranks x threads = 16 (one run each)"
  echo
  echo "| ranks x threads | RTF | compute s | exchange s | compute_cpu_s_sum | build s | peak RSS MiB/rank |"
  echo "|---|---|---|---|---|---|---|"
} | tee -a "$tables"
for shape in $SHAPES; do
  r=${shape%x*} t=${shape#*x}
  point "$BIG_GRID $shape" "$r" "$t" "$bin" --network.grid "$BIG_GRID" \
    --network.connectivity fixed_indegree --network.boundary periodic --run.protocol "train:$MS" || continue
  l="$BIG_GRID $shape"
  echo "| $r x $t | $(field "$l" rtf) | $(field "$l" compute_s) | $(field "$l" exchange_s) |" \
       "$(field "$l" compute_cpu_s_sum) | $(field "$l" build_s) | $(field "$l" peak_rss_mib) |" | tee -a "$tables"
done
echo "done $(date -u +%FT%TZ)" | tee -a "$tables"
