#!/usr/bin/env bash
# Builds native/test/kernel_test.cpp with native/src under AddressSanitizer and
# UndefinedBehaviorSanitizer and runs it. `mvn verify` calls this (java/core, test phase) with the
# OpenBLAS preset's unpacked linux-x86_64 directory; by hand:
#   bash native/test/run.sh ~/.javacpp/cache/openblas-0.3.31-1.5.13-linux-x86_64.jar/org/bytedeco/openblas/linux-x86_64 /tmp/native-test
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
blas=${1:?OpenBLAS directory (include/ and libopenblas.so.0)}
out=${2:?output directory}
mkdir -p "$out"
echo "sae4j: native kernel test under ASan + UBSan ($out/kernel_test.log)"
g++ -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    -I"$here/native/include" -I"$blas/include" "$here"/native/src/*.cpp "$here/native/test/kernel_test.cpp" \
    -L"$blas" -l:libopenblas.so.0 -Wl,-rpath,"$blas" -lpthread -o "$out/kernel_test"
# OPENBLAS_* from the environment are left as they are (the tests check results, not speed)
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/kernel_test" > "$out/kernel_test.log" 2>&1; then
    tail -1 "$out/kernel_test.log"
else
    grep -E "FAIL|ERROR|runtime error" "$out/kernel_test.log" | head -40
    tail -1 "$out/kernel_test.log"
    echo "sae4j: native kernel test FAILED (full log: $out/kernel_test.log)" >&2
    exit 1
fi
