#!/usr/bin/env bash
# Builds native/bench/profile_step.cpp against native/src and the OpenBLAS of the JavaCPP jar
# (unpacked by `mvn package` into ~/.javacpp/cache), then runs it: args B d m density threads reps.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
blas=$(ls -d ~/.javacpp/cache/openblas-*-linux-x86_64.jar/org/bytedeco/openblas/linux-x86_64 | head -1)
out=${PROFILE_BIN:-/tmp/sae4j-profile}
g++ -std=c++17 -O3 -fno-math-errno -g -I"$here/native/include" -I"$blas/include" \
    "$here"/native/src/*.cpp "$here/native/bench/profile_step.cpp" -L"$blas" -l:libopenblas.so.0 \
    -Wl,-rpath,"$blas" -lpthread -o "$out"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$out" "$@"
