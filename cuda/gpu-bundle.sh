#!/usr/bin/env bash
# Builds, on a machine with a JDK, Maven and nvcc (any machine of this project), everything the GPU
# check needs on a GPU machine that has neither a JDK nor Maven nor network, into one folder of at
# most 64 MiB:
#   jre.tgz              a jlink'ed Java runtime (the modules sae4j, JMH and JUnit use)
#   lib/*.jar            sae4j-core (with its CPU and CUDA JNI libraries), the CLI, the benchmarks and
#                        the runtime jars they need (OpenBLAS's jar slimmed to what sae4j loads), the
#                        JUnit console launcher
#   test-classes/        sae4j-core's compiled tests (the kernel suite)
#   bin/                 the native CUDA test program and the cosine dev harness (cuda/build.sh)
# Then, on the GPU machine:  bash cuda/gpu-check.sh gpu-bundle OUT_DIR
#   cuda/gpu-bundle.sh [OUT_DIR]     (default gpu-bundle, ignored by git)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/gpu-bundle}"
M2="${M2_REPO:-$HOME/.m2/repository}"
prop() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$ROOT/pom.xml" | head -n1; }

cd "$ROOT"
# install: the benchmarks module resolves sae4j-core from the local repository below
mvn -B -q -DskipTests install
core_jar="java/core/target/sae4j-core-0.1.0-SNAPSHOT.jar"
if ! unzip -l "$core_jar" | grep -q 'io/sae4j/backend/cuda/linux-x86_64/libjniNativeCuda.so'; then
    echo "gpu-bundle: $core_jar has no CUDA library (nvcc missing here?)" >&2
    exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/bin" "$OUT/test-classes"
lib=java/cli/target/lib
blas_jar="$(ls "$lib"/openblas-*.jar | grep -v linux-x86_64)"
blas_native="$(ls "$lib"/openblas-*-linux-x86_64.jar)"
cp "$lib"/sae4j-core-*.jar "$lib"/javacpp-*.jar "$lib"/cuda-*.jar "$lib"/gson-*.jar "$lib"/picocli-*.jar \
    "$blas_jar" java/cli/target/sae4j-cli.jar "$OUT/lib/"
# OpenBLAS's platform jar without the JNI library of the presets' full (LAPACK) variant, which
# nothing loads, and the headers: 20 MB -> about 14 MB
slim="$(mktemp -d)"
(cd "$slim" && unzip -q "$ROOT/$blas_native" &&
    rm -rf org/bytedeco/openblas/linux-x86_64/libjniopenblas_full.so org/bytedeco/openblas/linux-x86_64/include \
        org/bytedeco/openblas/linux-x86_64/lib META-INF/native-image &&
    jar --create --file "$OUT/lib/$(basename "$blas_native")" -C "$slim" .)
rm -rf "$slim"

# JMH: the benchmarks' own classes (with JMH's generated code) and JMH's runtime jars
cp benchmarks/target/sae4j-benchmarks-*.jar "$OUT/lib/"
mvn -B -q -f benchmarks/pom.xml dependency:copy-dependencies -DincludeGroupIds=org.openjdk.jmh,net.sf.jopt-simple,org.apache.commons \
    -DexcludeArtifactIds=jmh-generator-annprocess -DoutputDirectory="$OUT/lib"
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$(prop junit.console.version)" \
    -DoutputDirectory="$OUT/lib"
cp -r java/core/target/test-classes/. "$OUT/test-classes/"
cp java/core/target/cuda/sae4j_cuda_test java/core/target/cuda/cosine_dev "$OUT/bin/"

jre="$(mktemp -d)"
jlink --add-modules java.base,java.logging,java.management,java.xml,jdk.unsupported,java.naming,java.sql,jdk.management \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output "$jre/jre"
tar -C "$jre" -czf "$OUT/jre.tgz" jre
rm -rf "$jre"

size=$(du -sb "$OUT" | cut -f1)
echo "gpu-bundle: $OUT, $((size / 1048576)) MiB"
if [ "$size" -gt $((64 * 1048576)) ]; then
    echo "gpu-bundle: over the 64 MiB a device call can carry" >&2
    exit 1
fi
