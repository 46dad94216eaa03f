#!/usr/bin/env bash
# Builds the sae4j CUDA kernel library's objects, its native test program and the cosine dev
# harness into OUT_DIR:
#   OUT_DIR/obj/*.o          src/*.cu, position-independent, for a g++ link into a shared library
#   OUT_DIR/link.txt         the linker arguments such a link needs (static CUDA runtime)
#   OUT_DIR/sae4j_cuda_test  test/kernel_test.cu against every entry point (static cudart)
#   OUT_DIR/cosine_dev       dev/cosine_match.cu, the explored cosine kernels and their timing
# Without nvcc it prints one line and exits 0 with nothing built. Objects newer than their
# source and the headers are kept. Compiles run two at a time.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"

NVCC="$(command -v nvcc || true)"
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [ -z "$NVCC" ]; then
    echo "sae4j: nvcc not found; building sae4j-core without the CUDA backend"
    exit 0
fi
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"

# sm_80 (A100) and sm_90 (H100/H200) machine code, compute_90 PTX for newer GPUs.
ARCH=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
      -gencode arch=compute_90,code=compute_90)
FLAGS=(-std=c++17 -O3 -lineinfo "${ARCH[@]}" -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra
       -I"$HERE/include" -I"$HERE/src")

# The directory that holds libcudart_static.a, as nvcc's own link would search it.
cudart_dir() {
    local top dirs d
    top="$("$NVCC" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -n1)"
    dirs="$("$NVCC" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ LIBRARIES=//p' |
            tr ' ' '\n' | sed -n 's/^"*-L\([^"]*\)"*$/\1/p')"
    for d in $dirs "$top/lib64" "$top/targets/x86_64-linux/lib" /usr/local/cuda/lib64; do
        if [ -f "$d/libcudart_static.a" ]; then
            (cd "$d" && pwd -P)
            return 0
        fi
    done
    return 1
}

# newer TARGET DEP...: true when TARGET exists and is newer than every DEP.
newer() {
    local t="$1" dep
    shift
    [ -e "$t" ] || return 1
    for dep in "$@"; do [ "$t" -nt "$dep" ] || return 1; done
    return 0
}

HEADERS=("$HERE"/include/*.h "$HERE"/src/*.cuh)
mkdir -p "$OUT/obj"
cd "$HERE"

# Run queued compiles, two at a time; fail if any fails.
pids=()
names=()
wait_all() {
    local i rc=0
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            echo "sae4j: compiling ${names[$i]} failed" >&2
            rc=1
        fi
    done
    pids=()
    names=()
    return $rc
}
launch() {  # launch NAME COMMAND...
    local name="$1"
    shift
    echo "nvcc $name"
    "$@" &
    pids+=($!)
    names+=("$name")
    if [ ${#pids[@]} -ge 2 ]; then wait_all || exit 1; fi
}

OBJS=()
for src in src/*.cu; do
    obj="$OUT/obj/$(basename "${src%.cu}").o"
    OBJS+=("$obj")
    newer "$obj" "$src" "${HEADERS[@]}" || launch "$src" "$NVCC" "${FLAGS[@]}" -c "$src" -o "$obj"
done
wait_all || exit 1

LIBDIR="$(cudart_dir)" || {
    echo "sae4j: libcudart_static.a not found next to $NVCC" >&2
    exit 1
}
# --exclude-libs keeps the static runtime's symbols out of the shared library's dynamic symbol
# table, so that another CUDA runtime in the same process (JavaCPP's libcudart.so) never binds
# to ours or ours to it.
# libstdc++ is linked statically and hidden, as in the CPU library (native/src/compat.cpp says why
# that file comes along).
echo "-L$LIBDIR -Wl,--exclude-libs,libcudart_static.a -lcudart_static -ldl -lrt -lpthread -static-libstdc++ -Wl,--exclude-libs,libstdc++.a" \
    >"$OUT/link.txt.tmp"
if ! cmp -s "$OUT/link.txt.tmp" "$OUT/link.txt" 2>/dev/null; then mv "$OUT/link.txt.tmp" "$OUT/link.txt"; else rm -f "$OUT/link.txt.tmp"; fi

newer "$OUT/sae4j_cuda_test" test/kernel_test.cu test/*.cuh "${OBJS[@]}" "${HEADERS[@]}" ||
    launch test/kernel_test.cu "$NVCC" "${FLAGS[@]}" -cudart static test/kernel_test.cu "${OBJS[@]}" \
        -o "$OUT/sae4j_cuda_test"
newer "$OUT/cosine_dev" dev/cosine_match.cu ||
    launch dev/cosine_match.cu "$NVCC" "${FLAGS[@]}" -cudart static dev/cosine_match.cu \
        -o "$OUT/cosine_dev"
wait_all || exit 1
