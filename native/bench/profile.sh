#!/usr/bin/env bash
# Builds a native profile (step: native/bench/profile_step.cpp, cosine: profile_cosine.cpp) against
# native/src and the OpenBLAS of the JavaCPP jar (unpacked by `mvn package` into ~/.javacpp/cache),
# then runs it with OPENBLAS_* unset (DESIGN.md, machines):
#   bash native/bench/profile.sh step [B d m density threads reps]
#   bash native/bench/profile.sh cosine [n1 n2 d threads reps]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
what=${1:?step or cosine}
shift
blas=$(ls -d ~/.javacpp/cache/openblas-*-linux-x86_64.jar/org/bytedeco/openblas/linux-x86_64 | head -1)
out=${PROFILE_BIN:-/tmp/sae4j-profile-$what}
g++ -std=c++17 -O3 -fno-math-errno -g -I"$here/native/include" -I"$blas/include" \
    "$here"/native/src/*.cpp "$here/native/bench/profile_$what.cpp" -L"$blas" -l:libopenblas.so.0 \
    -Wl,-rpath,"$blas" -lpthread -o "$out"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$out" "$@"
