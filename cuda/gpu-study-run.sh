#!/usr/bin/env bash
# On a GPU machine, after the stages of cuda/gpu-study-bundle.sh have arrived in STAGES_DIR: assembles
# them and runs `sae4j study --device cuda` once per config given, timing each and copying its
# report, results.json and log to OUT_DIR/NAME-*.
#   cuda/gpu-study-run.sh STAGES_DIR OUT_DIR NAME=CONFIG.json...
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
stages="$1" out="$2"
shift 2
study=/tmp/sae4j-gpu-study
[ -d "$study/jre" ] || bash "$ROOT/cuda/gpu-study-bundle.sh" --assemble "$stages" "$study" || exit 1
# DJL's tokenizer looks for a CUDA build of its library when it sees a GPU, and that build is not in
# the jar (it would download it): point it at the jar's CPU build. (The CLI now sets ai.djl.offline,
# which does the same, but that has not run on a GPU yet.)
tokenizer_lib="$study/native/libtokenizers.so"
[ -f "$tokenizer_lib" ] || python3 -c 'import sys, zipfile, shutil, os
with zipfile.ZipFile(sys.argv[1]) as z, z.open("native/lib/linux-x86_64/cpu/libtokenizers.so") as f:
    os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True); shutil.copyfileobj(f, open(sys.argv[2], "wb"))' \
    "$(ls "$study"/lib/tokenizers-*.jar)" "$tokenizer_lib" || exit 1
export RUST_LIBRARY_PATH="$tokenizer_lib"
export FONTCONFIG_FILE="$study/fonts.conf" LD_LIBRARY_PATH="$study/fontlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for run in "$@"; do
    name="${run%%=*}" config="${run#*=}"
    echo "== $name: study --device cuda --config $config"
    start=$(date +%s)
    "$study/jre/bin/java" -Djava.awt.headless=true -Dorg.bytedeco.javacpp.maxBytes=0 \
        -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -jar "$study/sae4j-cli.jar" study --device cuda \
        --config "$config" --out "/tmp/study-$name" >"$out/$name-log.txt" 2>&1
    rc=$?
    echo "== $name: exit $rc after $(( $(date +%s) - start )) s"
    grep -v "^sae4j study: compare (" "$out/$name-log.txt" | tail -n 25
    cp "/tmp/study-$name/report.html" "$out/$name-report.html" 2>/dev/null
    cp "/tmp/study-$name/results.json" "$out/$name-results.json" 2>/dev/null
done
