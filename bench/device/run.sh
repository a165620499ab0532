#!/usr/bin/env bash
# On the 16-core machine (after bench/device/prepare.sh here; ../shared/device/README.md):
#   source .device/expose-libs.sh && bash bench/device/run.sh
# 1. the machine (lscpu) and a smoke run at 1 and 2 ranks (fails fast on a missing library);
# 2. strong (256x256) and weak (64x64 circuits per rank) scaling at 1, 2, 4, 8, 16 ranks
#    (RANKS) x 1 thread with each exchange of EXCHANGES (run.exchange, docs/scaling.md), then
#    x 2 threads (THREADS_LIST, exchange auto), MS ms of model time with learning
#    (bench/scaling.sh: ranks x threads beyond the cores run oversubscribed, scripts/launch.sh);
#    the strong points of each thread count checked identical (h5diff), and 2 threads' 1-rank
#    point against 1 thread's;
# 3. on the quiet machine: the default experiment and 128x128 (train:1000) at 1 rank x 1 and
#    x 2 threads, launched as the README says (issue 12's thread targets).
# Markdown tables go to stdout and $OUT/tables.md as each series ends; logs and timing records
# to $OUT/scaling_T*.tar.gz. Flat files only: the device tool returns at most 8 files.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/device_out}
mkdir -p "$out"
export PATH=$PWD/.device/bin:$PATH
export SEQLEARN_BIN=$PWD/.device/bin/seqlearn_mpi
RANKS=${RANKS:-"1 2 4 8 16"}
THREADS_LIST=${THREADS_LIST:-"1 2"}
EXCHANGES=${EXCHANGES:-"allgather directed"}
export MS=${MS:-500}
tables=$out/tables.md
source scripts/launch.sh

{
  echo "# seqlearn on the lent machine, $(date -u +%FT%TZ)"
  echo
  echo "cores seen by scripts/launch.sh: $(seqlearn_cores); nproc $(nproc);" \
       "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'); $(lscpu | grep -E '^(Thread|Core|Socket)' | tr -s ' ' | tr '\n' ';')"
  echo "mpirun: $(mpirun --version 2>&1 | head -1); binary: $("$SEQLEARN_BIN" --version 2>&1 | head -1)"
  echo
} | tee "$tables"

# 1. Smoke: the carried binary starts, writes and finishes on 1 and 2 ranks.
for r in 1 2; do
  if ! OMPI_MCA_rmaps_base_oversubscribe=1 mpirun -n "$r" "$SEQLEARN_BIN" --threads 1 \
      --output "/tmp/smoke$r.h5" --overwrite --run.protocol train:200,test:100 >"$out/smoke$r.log" 2>&1; then
    echo "smoke run on $r rank(s) failed:"; tail -20 "$out/smoke$r.log"; exit 1
  fi
done
echo "smoke runs on 1 and 2 ranks: ok"

# table DIR strong|weak: one markdown row per point (timing.json of the program's bench:
# line). Strong: speedup and efficiency of the step loop, work inflation = CPU sum / 1 rank's;
# weak: efficiency = 1 rank's step loop / this one's, work inflation = CPU sum / (R x 1 rank's).
table() {
  local dir=$1
  echo "| ranks | threads | exchange | step loop s | RTF | $([[ $2 == strong ]] && echo 'speedup / efficiency' || echo efficiency) | compute_cpu_s_sum | work inflation | compute_cpu_s_max | imbalance R*max/sum | exchange s | exchange bytes/step | build s | bytes/synapse | halo | ns / received word | partition |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for f in $(ls "$dir"/np*/timing.json 2>/dev/null | sort -V); do
    tr -d '{}"' <"$f" | tr ',' '\n' | sed 's/^ *//' | awk -F': ' -v kind="$2" '{ v[$1] = $2 }
      END { printf "%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s\n", v["ranks"], v["threads"], v["simulate_s"],
                   v["rtf"], v["compute_cpu_s_sum"], v["compute_cpu_s_max"], v["exchange_s"],
                   v["exchange_bytes_per_step"], v["build_s"], v["bytes_per_synapse"], kind, v["simulated_s"], 0,
                   v["exchange"] == "" ? "-" : v["exchange"], v["halo"] == "" ? "-" : v["halo"],
                   v["walk_ns_per_word"] == "" ? "-" : v["walk_ns_per_word"],
                   v["partition"] == "" ? "-" : v["partition"] }'
  done | awk '{ if (NR == 1) { s1 = $3; c1 = $5 }
                strong = ($11 == "strong")
                eff = strong ? sprintf("%.2f / %.0f %%", s1 / $3, 100 * s1 / ($3 * $1)) : sprintf("%.0f %%", 100 * s1 / $3)
                printf "| %s | %s | %s | %.3f | %.3f | %s | %.2f | %.3f | %.3f | %.3f | %.3f | %.0f | %.2f | %.1f | %s | %s | %s |\n",
                       $1, $2, $14, $3, $4, eff, $5, $5 / (strong ? c1 : c1 * $1), $6, $1 * $6 / $5, $7, $8, $9, $10, $15, $16, $17 }'
}

# 2. Scaling series, one per thread count and exchange.
series() { [[ $1 == 1 ]] && echo "$EXCHANGES" || echo auto; }
for t in $THREADS_LIST; do
for ex in $(series "$t"); do
  dir=/tmp/scaling_T${t}_$ex
  rm -rf "$dir"
  SEQLEARN_ARGS="--run.exchange $ex" SEQLEARN_RESULTS_SCALING=$dir RANKS=$RANKS THREADS=$t \
    bash bench/scaling.sh >"$out/scaling_T${t}_$ex.log" 2>&1
  code=$?
  grep -E '^seqlearn: /tmp|identical|differ|failed' "$out/scaling_T${t}_$ex.log" | tail -12
  [[ $code -eq 0 ]] || echo "bench/scaling.sh with $t thread(s), $ex exchange exited $code (log in scaling_T${t}_$ex.tar.gz)"
  first=$(ls -d /tmp/scaling_T1_*/strong/np1 2>/dev/null | head -1)
  if [[ -n "$first" && "$first" != "$dir/strong/np1" && -f "$first/run.h5" && -f $dir/strong/np1/run.h5 ]]; then
    same=yes
    for group in /spikes /input /traces; do
      h5diff -q "$first/run.h5" "$dir/strong/np1/run.h5" $group $group || same=NO
    done
    echo "strong, 1 rank x $t threads ($ex) identical to $first (h5diff /spikes /input /traces): $same" | tee -a "$tables"
  fi
  {
    echo "## strong scaling, ${GRID:-256x256}, $MS ms with learning, $t thread(s) per rank, run.exchange $ex"; echo
    table "$dir/strong" strong; echo
    echo "## weak scaling, ${BLOCK:-64x64} circuits per rank, $MS ms, $t thread(s) per rank, run.exchange $ex"; echo
    table "$dir/weak" weak; echo
  } | tee -a "$tables"
  cp "$out/scaling_T${t}_$ex.log" "$dir/" 2>/dev/null
  (cd "$dir" && tar czf "$out/scaling_T${t}_$ex.tar.gz" --exclude='*.h5' .)
  rm -f "$out/scaling_T${t}_$ex.log"
  find "$dir" -name '*.h5' ! -path '*/strong/np1/*' -delete
done
done

# 3. Threads on one rank, launched as the README says (scripts/launch.sh 1 T).
{
  echo "## one rank, 1 vs 2 threads (scripts/launch.sh 1 T; medians of 3 alternating runs)"; echo
  echo "| run | threads | RTF runs | median RTF | STDP updates/s (median run) |"
  echo "|---|---|---|---|---|"
} | tee -a "$tables"
single() {  # NAME ARGS...: 3 alternating runs at 1 and 2 threads
  local name=$1 t i
  shift
  declare -A rtfs stdp
  for i in 1 2 3; do
    for t in 1 2; do
      bash scripts/launch.sh 1 "$t" "$SEQLEARN_BIN" --threads "$t" --output "/tmp/single_$t.h5" \
        --overwrite --record.dt_rec 0 "$@" >"/tmp/single.log" 2>&1 || { tail -5 /tmp/single.log; continue; }
      rtfs[$t]+="$(sed -n 's/^bench:.* rtf=\([^ ]*\).*/\1/p' /tmp/single.log) "
      stdp[$t]+="$(sed -n 's/^bench:.* stdp_per_s=\([^ ]*\).*/\1/p' /tmp/single.log) "
    done
  done
  for t in 1 2; do
    echo "${rtfs[$t]}|${stdp[$t]}" | awk -F'|' -v n="$name" -v t="$t" '{
      k = split($1, r, " "); split($2, s, " ")
      for (i = 1; i <= k; ++i) for (j = i + 1; j <= k; ++j) if (r[j] < r[i]) { x = r[i]; r[i] = r[j]; r[j] = x; y = s[i]; s[i] = s[j]; s[j] = y }
      printf "| %s | %s | %s | %s | %s |\n", n, t, $1, r[int((k + 1) / 2)], s[int((k + 1) / 2)] }'
  done
}
{
  single "default experiment (10x5, train 100 s + test 3 s)"
  single "${BIG_GRID:=128x128} fixed_indegree periodic, train:${BIG_MS:=1000}" --network.grid "$BIG_GRID" \
    --network.connectivity fixed_indegree --network.boundary periodic --run.protocol "train:$BIG_MS"
} | tee -a "$tables"
echo "done $(date -u +%FT%TZ)" | tee -a "$tables"
