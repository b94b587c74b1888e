#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ and runs each for RUNS executions, one at a time.
#
#   scripts/fuzz.sh [TARGET|all] [RUNS]
#
# TARGET is one of the targets below (default: all of them, in turn); RUNS defaults to
# 1,000,000. Each run starts from the committed seeds in Fuzz/Corpus/<target>/ and keeps
# what it finds new in Fuzz/.build/fuzz/<target>/corpus/ (not in git), so a second run
# goes on from there; crashes, timeouts and out-of-memory inputs are written to
# Fuzz/.build/fuzz/<target>/artifacts/, and the full log to Fuzz/.build/fuzz/<target>.log.
# The targets are built with -sanitize=fuzzer,address: libFuzzer, with AddressSanitizer
# (and its leak checker) watching every execution.
#
# Environment: FUZZ_JOBS (build jobs, default 2), FUZZ_FLAGS (more libFuzzer flags,
# such as -seed=1 or -max_total_time=900). Exits non-zero if any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each target, with the largest input it is given: image and manifest files need far
# less than 64 KiB to reach every path, and larger images only slow the search down.
declare -A max_len=(
  [fuzz-idx]=65536
  [fuzz-cifar10]=65536
  [fuzz-safetensors]=65536
  [fuzz-manifest]=16384
  [fuzz-png]=16384
  [fuzz-jpeg]=16384
  [fuzz-tiff]=16384
)
all=(fuzz-idx fuzz-cifar10 fuzz-safetensors fuzz-manifest fuzz-png fuzz-jpeg fuzz-tiff)

target=${1:-all}
runs=${2:-1000000}
if [ "$target" = all ]; then
  targets=("${all[@]}")
elif [ -n "${max_len[$target]:-}" ]; then
  targets=("$target")
else
  echo "fuzz: unknown target '$target'; choose one of: ${all[*]} (or all)" >&2
  exit 2
fi

build=Fuzz/.build
echo "fuzz: building the fuzz targets (release, -sanitize=fuzzer,address)"
mkdir -p "$build"
if ! swift build --package-path Fuzz --scratch-path "$build" -c release -j "${FUZZ_JOBS:-2}" \
     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$build/fuzz-build.log" 2>&1; then
  grep -E "error" "$build/fuzz-build.log" >&2 || tail -20 "$build/fuzz-build.log" >&2
  echo "fuzz: the build failed (log: $build/fuzz-build.log)" >&2
  exit 1
fi
bin=$(swift build --package-path Fuzz --scratch-path "$build" -c release --show-bin-path \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)

summary=()
failed=0
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz: $bin/$t was not built" >&2; exit 1; }
  work="$build/fuzz/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  log="$build/fuzz/$t.log"
  echo "fuzz: $t, $runs runs, inputs up to ${max_len[$t]} bytes (log: $log)"
  touch "$work/.started"
  status=0
  start=$(date +%s.%N)
  # New inputs go to the first corpus folder; the committed seeds are only read.
  # shellcheck disable=SC2086
  "$bin/$t" -runs="$runs" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${FUZZ_FLAGS:-} \
    "$work/corpus" "Fuzz/Corpus/$t" >"$log" 2>&1 || status=$?
  wall=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
  done_line=$(grep -E "^Done [0-9]+ runs in [0-9]+ second" "$log" | tail -1 || true)
  executed=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  # exec/s over the whole run, start-up and the seeds' first pass included.
  speed=$(echo "${executed:-0} $wall" | awk '{printf "%.0f", ($2 > 0 ? $1 / $2 : 0)}')
  found=$(find "$work/artifacts" -type f -newer "$work/.started" | head -5 | tr '\n' ' ')
  if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
    result="nothing found"
  else
    failed=1
    kind=$(grep -m1 -oE "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+" "$log" || echo "exit status $status")
    result="FOUND: $kind ${found:-(see the log)}"
  fi
  echo "fuzz: $t: ${executed:-?} runs in $wall s, ${speed:-?} exec/s, corpus $(ls "$work/corpus" | wc -l) new + $(ls "Fuzz/Corpus/$t" | wc -l) seeds: $result"
  summary+=("$(printf '%-18s %10s %8s %8s  %s' "$t" "${executed:-?}" "$wall" "${speed:-?}" "$result")")
done

echo
printf '%-18s %10s %8s %8s  %s\n' target runs seconds exec/s result
printf '%s\n' "${summary[@]}"
exit "$failed"
