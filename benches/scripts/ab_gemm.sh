#!/usr/bin/env bash
# A/B of two builds of `examples/gemm_one` on the GEMM table's shapes,
# alternating the binaries shape by shape, ROUNDS times (default 3), on 1
# and 2 threads; prints each shape's GFLOP/s (best of five batches) per
# round and the medians. A kernel can be forced for both with MNIST_KERNEL.
#
#   benches/scripts/ab_gemm.sh BEFORE/gemm_one AFTER/gemm_one [ROUNDS]
#
# Timings on a shared VM are noisy: compare the medians, and the rounds.
set -euo pipefail
before=$1 after=$2 rounds=${3:-3}
shapes=(
  "100 784 512 N N" "100 512 512 N N" "512 512 512 N N" "1024 1024 1024 N N"
  "50 3136 1024 N N" "100 784 10 N N" "100 512 10 N N" "784 100 512 T N"
  "512 100 512 T N" "100 512 512 N T" "100 10 512 N T" "39200 25 32 N N"
  "9800 800 64 N N" "800 9800 64 T N" "9800 64 800 N T"
)
reps() { # about 20 ms a batch
  read -r m k n _ <<<"$1"
  local flop=$((2 * m * k * n))
  local r=$((2000000000 / flop)); ((r < 1)) && r=1; ((r > 2000)) && r=2000; echo $r
}
rate() { "$1" $2 ours "$(reps "$2")" 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)? GFLOP/s' | head -1 | cut -d' ' -f1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for threads in 1 2; do
  export GEMM_ONE_THREADS=$threads MATMUL_NUM_THREADS=$threads
  echo "## $threads thread(s)${MNIST_KERNEL:+, MNIST_KERNEL=$MNIST_KERNEL}: shape, before rounds | after rounds | median before, after, after/before"
  for s in "${shapes[@]}"; do
    b=() a=()
    for ((r = 0; r < rounds; r++)); do
      b+=("$(rate "$before" "$s")"); a+=("$(rate "$after" "$s")")
    done
    mb=$(printf '%s\n' "${b[@]}" | median); ma=$(printf '%s\n' "${a[@]}" | median)
    printf '%-20s %s | %s | %s %s %.3f\n' "$s" "${b[*]}" "${a[*]}" "$mb" "$ma" "$(echo "$ma / $mb" | bc -l)"
  done
done
