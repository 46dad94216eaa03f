#!/usr/bin/env bash
# Builds the JNI library of io.sae4j.backend.cuda.NativeCuda into the core module's classes, so
# that the jar carries it: cuda/build.sh compiles the kernels with nvcc, then JavaCPP's Builder
# generates the JNI glue and links it with g++ against those objects and the static CUDA runtime.
# Run by java/core/pom.xml during process-classes. Without nvcc, build.sh says so in one line and
# the jar is CPU-only (the CUDA provider then reports that it was built without CUDA); so is it with
# SAE4J_SKIP_CUDA=1 (a faster build where no GPU will ever be used).
#   jni.sh JAVA JAVACPP_JAR CLASSES_DIR BUILD_DIR
set -euo pipefail
if [ $# -ne 4 ]; then
    echo "usage: $0 JAVA JAVACPP_JAR CLASSES_DIR BUILD_DIR" >&2
    exit 2
fi
JAVA="$1" JAVACPP="$2" CLASSES="$3" OUT="$4"
HERE="$(cd "$(dirname "$0")" && pwd)"
DEST="$CLASSES/io/sae4j/backend/cuda/linux-x86_64"
LIB="$DEST/libjniNativeCuda.so"
if [ "${SAE4J_SKIP_CUDA:-0}" = 1 ]; then
    rm -f "$LIB"  # never ship kernels from an earlier build
    echo "sae4j: SAE4J_SKIP_CUDA=1: building sae4j-core without the CUDA backend"
    exit 0
fi
bash "$HERE/build.sh" "$OUT"
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
    rm -f "$LIB"  # build.sh said why; a library from an earlier build must not ship
    exit 0
fi
CLASS="$CLASSES/io/sae4j/backend/cuda/NativeCuda.class"
stale=0
[ -f "$LIB" ] || stale=1
for dep in "$CLASS" "$OUT"/obj/*.o "$OUT/link.txt" "$HERE/include/sae4j_cuda.h" "$HERE/../native/src/compat.cpp"; do
    [ "$stale" = 1 ] || [ "$LIB" -nt "$dep" ] || stale=1
done
[ "$stale" = 1 ] || exit 0

args=(-Xcompiler "-I$HERE/include" -Xcompiler -O2)
for obj in "$OUT"/obj/*.o; do args+=(-Xcompiler "$obj"); done
args+=(-Xcompiler "$HERE/../native/src/compat.cpp")
read -r -a link <"$OUT/link.txt"
for a in "${link[@]}"; do args+=(-Xcompiler "$a"); done
echo "sae4j: linking the CUDA JNI library"
"$JAVA" -cp "$JAVACPP:$CLASSES" org.bytedeco.javacpp.tools.Builder -classpath "$CLASSES" -d "$DEST" \
    "${args[@]}" io.sae4j.backend.cuda.NativeCuda >"$OUT/javacpp.log" 2>&1 || {
    cat "$OUT/javacpp.log" >&2
    exit 1
}
