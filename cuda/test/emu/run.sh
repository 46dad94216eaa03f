#!/usr/bin/env bash
# Runs the kernel test program (test/kernel_test.cu) against the library's kernels on the CPU,
# through the host emulation in test/emu/include, with AddressSanitizer and UBSan: a check of the
# kernels' indexing, barriers, reductions and bookkeeping, and of the test program itself, on
# machines without a GPU. It says nothing about speed, the memory model or the tensor cores'
# exact arithmetic; the real test is OUT_DIR/sae4j_cuda_test on a GPU (cuda/build.sh).
#
#   cuda/test/emu/run.sh [OUT_DIR] [-- test arguments, e.g. --quick]
#   EMU_SANITIZE=thread cuda/test/emu/run.sh ...   ThreadSanitizer instead: a block's threads are
#       OS threads, so a missing __syncthreads shows up as a data race (a racecheck stand-in).
# Needs g++ (C++20) and python3. Kernel launches (k<<<...>>>(...)) and the dynamic shared
# memory declaration are rewritten into plain C++ in OUT_DIR before compiling.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CUDA="$(cd "$HERE/../.." && pwd)"
OUT=/tmp/sae4j-cuda-emu
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    OUT="$1"
    shift
fi
if [ "${1:-}" = "--" ]; then shift; fi
SANITIZE="${EMU_SANITIZE:-address,undefined}"
OBJ="$OUT/obj-${SANITIZE//,/-}"
mkdir -p "$OUT/src" "$OUT/test" "$OBJ"

python3 - "$CUDA" "$OUT" <<'EOF'
import re, sys, pathlib
cuda, out = map(pathlib.Path, sys.argv[1:3])
launch = re.compile(r'([A-Za-z_][\w:]*(?:<[^<>;()]*>)?)\s*<<<(.*?)>>>\s*\(', re.S)
dyn = re.compile(r'extern\s+__shared__\s+(?:__align__\(\s*\d+\s*\)\s+)?([\w:]+)\s+(\w+)\s*\[\s*\]\s*;')
for sub in ("src", "test"):
    for f in sorted((cuda / sub).glob("*.cu*")):
        text = launch.sub(lambda m: "emu::Launch(%s).run(%s, " % (m.group(2), m.group(1)), f.read_text())
        text = dyn.sub(lambda m: "%s* %s = (%s*)emu::dyn_smem();" % (m.group(1), m.group(2), m.group(1)), text)
        assert "<<<" not in text, f
        dst = out / sub / f.name
        if not dst.exists() or dst.read_text() != text:
            dst.write_text(text)
EOF

CXX=(g++ -std=c++20 -O1 -g -pthread -fsanitize="$SANITIZE" -fno-omit-frame-pointer
     -Wall -Wno-unknown-pragmas -Wno-unused-function -x c++ -I"$HERE/include" -I"$CUDA/include"
     -I"$OUT/src")
objs=()
for src in "$OUT"/src/*.cu; do
    obj="$OBJ/$(basename "${src%.cu}").o"
    objs+=("$obj")
    stale=0
    for dep in "$src" "$OUT/src/internal.cuh" "$CUDA/include/sae4j_cuda.h" "$HERE"/include/*.h \
               "$HERE"/include/cub/device/*.cuh; do
        [ -e "$obj" ] && [ "$obj" -nt "$dep" ] || stale=1
    done
    if [ $stale = 1 ]; then
        echo "g++ (emulation) src/$(basename "$src")"
        (cd "$OUT" && "${CXX[@]}" -c "src/$(basename "$src")" -o "$obj")
    fi
done
echo "g++ (emulation) test/kernel_test.cu"
(cd "$OUT" && "${CXX[@]}" test/kernel_test.cu -x none "${objs[@]}" -o "$OBJ/sae4j_cuda_test_emu")
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    TSAN_OPTIONS=halt_on_error=1 "$OBJ/sae4j_cuda_test_emu" "$@"
