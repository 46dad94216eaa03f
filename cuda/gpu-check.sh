#!/usr/bin/env bash
# Everything the CUDA backend must pass, in one call of under 8 minutes on a GPU machine that has
# the NVIDIA driver, compute-sanitizer and PyTorch but no JDK, Maven or network. It builds nothing:
# the bundle comes from cuda/gpu-bundle.sh on a build machine.
#   bash cuda/gpu-check.sh BUNDLE_DIR OUT_DIR
# Writes OUT_DIR/results.md (one line per check, then the benchmark table beside PyTorch) and
# OUT_DIR/logs.tgz (every check's log and the raw benchmark JSON: a device call brings back at most 8
# files). Exit status: the number of failed checks.
# SAE4J_GPU_CHECKS (space-separated groups, default all) picks what runs: kernels sanitizers junit
# cli topk coact matching jmh profile cosine torch.
set -uo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 BUNDLE_DIR OUT_DIR" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="$(cd "$1" && pwd)"
mkdir -p "$2/logs"
OUT="$(cd "$2" && pwd)"
LOGS="$OUT/logs"
RES="$OUT/results.md"
failed=0
start=$(date +%s)

echo "# sae4j GPU check, $(date -u +%FT%TZ)" >"$RES"
echo >>"$RES"
echo "| check | result | seconds |" >>"$RES"
echo "|---|---|---|" >>"$RES"

# The whole call must end within BUDGET seconds (a device call is at most 10 minutes, and a rerun
# must fit in a session's 15): each check's timeout is cut to what is left, and a check that no
# longer fits is reported as not run (and counted as failed). Checks run most important first.
BUDGET="${SAE4J_GPU_CHECK_BUDGET:-470}"

GROUPS_WANTED="${SAE4J_GPU_CHECKS:-kernels sanitizers junit cli topk coact matching jmh profile cosine torch}"
want() { case " $GROUPS_WANTED " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# check NAME TIMEOUT_S COMMAND...: runs it with its output in logs/NAME.txt, records PASS/FAIL.
check() {
    local name="$1" limit="$2" t0 rc left
    shift 2
    t0=$(date +%s)
    left=$((BUDGET - (t0 - start)))
    if [ "$left" -lt 15 ]; then
        failed=$((failed + 1))
        echo "| $name | NOT RUN (the ${BUDGET} s budget is spent) | 0 |" >>"$RES"
        return 1
    fi
    [ "$limit" -gt "$left" ] && limit="$left"
    echo "== $name" >&2
    timeout "$limit" "$@" >"$LOGS/$name.txt" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "| $name | PASS | $(($(date +%s) - t0)) |" >>"$RES"
    else
        failed=$((failed + 1))
        echo "| $name | FAIL (exit $rc$([ $rc -eq 124 ] && echo ', timed out')) | $(($(date +%s) - t0)) |" >>"$RES"
        tail -n 20 "$LOGS/$name.txt" >&2
    fi
    return $rc
}

# ---- the machine ----
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$LOGS/gpu.txt" 2>&1
cat "$LOGS/gpu.txt" >&2
. "$ROOT/cuda/gpu-libs.sh"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >>"$LOGS/gpu.txt"
JRE="$(mktemp -d)"
tar -C "$JRE" -xzf "$B/jre.tgz"
JAVA="$JRE/jre/bin/java"
JOPTS=(-Xmx8g -Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0)
CP="$B/lib/*"
W="$(mktemp -d)"
# commands for `timeout` (which runs programs, not shell functions)
mkdir -p "$W/bin"
printf '#!/usr/bin/env bash\nexec "%s" %s -cp "%s" io.sae4j.cli.Main "$@"\n' "$JAVA" "${JOPTS[*]}" "$CP" >"$W/bin/sae4j"
printf '#!/usr/bin/env bash\nexec "%s" %s -cp "%s" org.openjdk.jmh.Main "$@" -foe true -f 1 -wi 1 -w 1 -i 3 -r 1 -jvmArgsAppend "%s"\n' \
    "$JAVA" "${JOPTS[*]}" "$CP" "${JOPTS[*]}" >"$W/bin/jmh"
chmod +x "$W/bin/sae4j" "$W/bin/jmh"
export PATH="$W/bin:$PATH"

# ---- native kernels against host double references, then under the sanitizers ----
want kernels && check kernel_test 120 "$B/bin/sae4j_cuda_test"
if ! want sanitizers; then
    :
elif command -v compute-sanitizer >/dev/null; then
    check memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 1 "$B/bin/sae4j_cuda_test" --quick
    check racecheck 150 compute-sanitizer --tool racecheck --error-exitcode 1 "$B/bin/sae4j_cuda_test" --quick
else
    echo "| sanitizers | SKIPPED (no compute-sanitizer) | 0 |" >>"$RES"
fi

# ---- the JVM side: backend selection, the kernel suite with CUDA required ----
# env also fails on control characters in its output (the first H200 run printed the device name
# followed by heap bytes; JSON written from it could not be parsed).
check env 60 bash -c 'sae4j env >"$1" && cat "$1" && ! tr -d "\n\t" <"$1" | LC_ALL=C grep -qa "[[:cntrl:]]"' env "$W/env.txt"
want junit && check junit_kernels 240 env SAE4J_REQUIRE_CUDA=1 "$JAVA" "${JOPTS[@]}" -jar "$B"/lib/junit-platform-console-standalone-*.jar \
    execute --class-path "$B/test-classes:$(ls "$B"/lib/*.jar | grep -v console-standalone | tr '\n' ':')" \
    --select-class io.sae4j.backend.BackendKernelsTest --select-class io.sae4j.backend.AuxKTest --select-class io.sae4j.metrics.MetricsTest \
    --select-class io.sae4j.metrics.ExactMatchingTest --select-class io.sae4j.metrics.ActivationPassTest --details=summary --disable-banner --fail-if-no-tests

# ---- exact activation correlation on the device: 262144 tokens through two 16384-latent SAEs, beside its GEMM floor ----
want coact && check correlation_262144_cuda 90 "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cuda -cp "$CP" io.sae4j.bench.LargeCorrelation \
    262144 512 16384 "$OUT/correlation-262144-cuda.json"
# where its time goes: kernel times of a 16384-token pass (8 blocks) under ncu, against that pass's wall time
if want coact && command -v ncu >/dev/null; then
    check correlation_ncu 120 ncu --clock-control none --target-processes all --metrics gpu__time_duration.sum \
        --print-summary per-kernel "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cuda -cp "$CP" io.sae4j.bench.LargeCorrelation \
        16384 512 16384 "$OUT/correlation-16384-ncu.json"
fi

# ---- certified matching at scale: CUDA, and the CPU of this machine on the same pair ----
if want matching; then
    check matching_16384_cuda 120 "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cuda -cp "$CP" io.sae4j.bench.LargeMatching 16384 512 \
        "$OUT/matching-16384-cuda.json"
    check matching_16384_cpu 150 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cpu \
        -cp "$CP" io.sae4j.bench.LargeMatching 16384 512 "$OUT/matching-16384-cpu.json"
    check matching_131072_cuda 240 "$JAVA" -Xmx24g -Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 \
        -Dsae4j.device=cuda -cp "$CP" io.sae4j.bench.LargeMatching 131072 512 "$OUT/matching-131072-cuda.json"
fi

# ---- train and compare on CUDA against the CPU, same data, same seeds: ReLU (lambda adapted, dead
# latents resampled), then TopK with AuxK ----
# train_and_compare DIR TRAIN_ARGS...: both devices train; each device compares the CPU's SAEs with the CUDA's
train_and_compare() {
    local dir="$1" tag dev r
    shift
    tag="$(basename "$dir")"
    mkdir -p "$dir"
    for dev in cpu cuda; do
        check "train_${tag}_$dev" 120 sae4j train --device "$dev" --acts "$W/synth/acts.npy" --ratios 2,8 --steps 1500 \
            --batch 1024 --lr 3e-3 "$@" --out "$dir/run-$dev"
    done
    for r in 2 8; do
        for dev in cpu cuda; do
            check "compare_${tag}_${dev}_r$r" 60 sae4j compare --device "$dev" "$dir/run-cpu/ratio-$r" "$dir/run-cuda/ratio-$r" \
                --acts "$W/synth/acts.npy" --truth "$W/synth/truth.npy" --json "$dir/cmp-$dev-$r.json"
        done
    done
    check "cuda_matches_cpu_$tag" 30 python3 "$ROOT/cuda/gpu_compare.py" "$dir"
    for f in "$dir"/cmp-*.json "$dir"/run-*/train_log.csv; do
        [ -f "$f" ] && cp "$f" "$LOGS/$tag-$(echo "${f#"$dir"/}" | tr / -)"
    done
}
if want cli; then
    check synth 60 sae4j synth --d 64 --features 256 --tokens 200000 --out "$W/synth"
    train_and_compare "$W/relu" --resample-every 100 --target-l0 8
fi
if want topk; then
    [ -d "$W/synth" ] || check synth 60 sae4j synth --d 64 --features 256 --tokens 200000 --out "$W/synth"
    train_and_compare "$W/topk" --k 8 --auxk 0.125 --dead-window 50000
    check jmh_train_topk 150 jmh TrainStepBenchmark -p device=cuda -p architecture=relu,topk32,topk32auxk -p density=init \
        -rf json -rff "$OUT/jmh-train-topk.json"
fi

# ---- benchmarks: sae4j (JMH) and PyTorch on the same GPU ----
if want jmh; then
    # A trained SAE's density only: the first H200 run's full grid (init and 0.01) outran 180 s.
    check jmh_train 120 jmh TrainStepBenchmark -p device=cuda -p dIn=512,2048 -p ratio=8,32 -p density=0.01 \
        -rf json -rff "$OUT/jmh-train.json"
    check jmh_train_tf32 60 jmh TrainStepBenchmark -p device=cuda -p dIn=2048 -p ratio=32 -p density=0.01 \
        -jvmArgsPrepend -Dsae4j.cuda.tf32=true -rf json -rff "$OUT/jmh-train-tf32.json"
    check cosine_131072 120 "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cuda -Dsae4j.cuda.tf32=true -cp "$CP" \
        io.sae4j.bench.LargeCosine 131072 2048 "$OUT/large-cosine.json"
fi
# ---- where a step's and a matching's time goes: kernel times under ncu, and the wall time split ----
if want profile; then
    check profile_wall 90 "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cuda -cp "$CP" io.sae4j.bench.ProfileSteps 512 8 0.01 200 16384
    if command -v ncu >/dev/null; then
        check profile_ncu 180 ncu --clock-control none --target-processes all --metrics gpu__time_duration.sum \
            --print-summary per-kernel "$JAVA" "${JOPTS[@]}" -Dsae4j.device=cuda -cp "$CP" io.sae4j.bench.ProfileSteps \
            512 8 0.01 8 16384
    else
        echo "| profile_ncu | SKIPPED (no ncu) | 0 |" >>"$RES"
    fi
fi
# ---- cosine maxima: the WMMA kernel against cuBLAS blocks + list kernels (cosineTop1) and the GEMM ----
if want cosine || want jmh; then
    check jmh_cosine_tf32 60 jmh CosineMatchBenchmark -p device=cuda -p m1=16384 -p m2=16384 -p d=512 \
        -jvmArgsPrepend -Dsae4j.cuda.tf32=true -rf json -rff "$OUT/jmh-cosine-tf32.json"
    check jmh_cosine_fp32 60 jmh CosineMatchBenchmark -p device=cuda -p m1=16384 -p m2=16384 -p d=512 \
        -rf json -rff "$OUT/jmh-cosine-fp32.json"
fi
want torch && check torch_peer 240 python3 "$ROOT/benchmarks/peer/torch_gpu_peer.py" "$OUT/torch.json"
python3 "$ROOT/cuda/gpu_report.py" "$OUT" >>"$RES" 2>"$LOGS/report.txt" || cat "$LOGS/report.txt" >&2

echo >>"$RES"
echo "Total $(($(date +%s) - start)) s, $failed failed. GPU: $(tail -n +2 "$LOGS/gpu.txt" | head -n1)" >>"$RES"
cat "$RES"
# one archive beside results.md: a device call brings back at most 8 files
mv "$OUT"/*.json "$LOGS/" 2>/dev/null
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$LOGS"
rm -rf "$JRE" "$W"
exit $failed
