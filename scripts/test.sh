#!/usr/bin/env bash
# The whole test suite, on every instruction set this CPU offers oneDNN.
#
# oneDNN picks its kernels (and so its rounding) by instruction set at run time. On an
# AVX-512 host the suite runs twice: with the AVX-512 kernels, then capped at AVX2 as on
# the AVX2-only hosts. Elsewhere it runs once. Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -q -w avx512f /proc/cpuinfo 2>/dev/null; then isa=avx512; else isa=avx2-or-older; fi
swift build --build-tests "$@"
echo "test: run 1, oneDNN's native kernels ($isa host)"
swift test --skip-build "$@"
if [ "$isa" = avx512 ]; then
  echo "test: run 2, ONEDNN_MAX_CPU_ISA=AVX2"
  ONEDNN_MAX_CPU_ISA=AVX2 swift test --skip-build "$@"
fi
