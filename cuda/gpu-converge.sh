#!/usr/bin/env bash
# How many steps the study's SAEs need before their figures stop moving (issue 12), measured on a
# GPU machine with the bundle of cuda/gpu-bundle.sh and the study's training rows (MiniLM layer 3
# mlp_out: `harvest --layers 3 --dataset A --tokens 100000 --float16`). Each run is one `train
# --device cuda` with its own arguments; all run side by side on the GPU, each writing its SAEs at
# the 75% and 100% points of budgets of STEPS/16, /8, /4, /2 and STEPS, then `compare` of every seed
# pair at each point. Every run: --lr-decay 0 (lr constant after a warmup of 5% of STEPS), log
# every 50 steps, batch 1024 unless its arguments say otherwise.
#   bash cuda/gpu-converge.sh BUNDLE_DIR TRAIN.npy OUT_DIR STEPS 'NAME=TRAIN ARGS' ...
# e.g. 'topk8=--k 32 --auxk 0.125 --dead-window 100000 --lr 4e-3 --ratios 8 --seeds 42,43'
# Writes OUT_DIR/converge.md (cuda/gpu_converge_report.py) and OUT_DIR/converge-logs.tgz (the
# train logs and compare JSON). SAE4J_TRAIN_LIMIT caps each run's seconds (default 330); the
# points written by then are still compared. STEPS: a multiple of 3200 (every point on the 50-step log
# grid). SAE4J_CONVERGE_DEVICE=cpu tries the script's mechanics where there is no GPU.
set -uo pipefail
if [ $# -lt 5 ]; then
    echo "usage: $0 BUNDLE_DIR TRAIN.npy OUT_DIR STEPS 'NAME=TRAIN ARGS'..." >&2
    exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="$(cd "$1" && pwd)" acts="$(readlink -f "$2")"
mkdir -p "$3"
OUT="$(cd "$3" && pwd)"
steps="$4"
shift 4
if [ $((steps % 3200)) -ne 0 ] || [ "$steps" -le 0 ]; then
    echo "$0: STEPS must be a positive multiple of 3200, got $steps" >&2
    exit 2
fi
device="${SAE4J_CONVERGE_DEVICE:-cuda}"
W="$(mktemp -d /tmp/sae4j-converge.XXXXXX)"
. "$ROOT/cuda/gpu-libs.sh"
[ -x /tmp/sae4j-jre/jre/bin/java ] || { mkdir -p /tmp/sae4j-jre && tar -C /tmp/sae4j-jre -xzf "$B/jre.tgz"; }
# a command for timeout and xargs (which run programs, not shell functions)
printf '#!/usr/bin/env bash\nexec /tmp/sae4j-jre/jre/bin/java -Xmx6g %s -cp "%s" io.sae4j.cli.Main "$@"\n' \
    "-Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0" "$B/lib/*" >"$W/sae4j"
chmod +x "$W/sae4j"
limit="${SAE4J_TRAIN_LIMIT:-330}"

points=""
for q in 16 8 4 2 1; do
    s=$((steps / q))
    points="$points $((s * 3 / 4)) $s"
done
snaps="$(echo $points | tr ' ' '\n' | sort -n | uniq | grep -vx "$steps" | paste -sd,)"
start=$(date +%s)
for run in "$@"; do
    name="${run%%=*}" args="${run#*=}"
    case " $args " in *" --batch "*) ;; *) args="--batch 1024 $args" ;; esac # (picocli refuses an option given twice)
    # (the run's arguments split on spaces: none of them holds one)
    # shellcheck disable=SC2086
    timeout "$limit" "$W/sae4j" train --device "$device" --acts "$acts" --lr-decay 0 --log-every 50 --checkpoint-every 0 \
        --steps "$steps" --snapshot-at "$snaps" $args --out "$W/$name" >"$W/$name.log" 2>&1 &
done
rc=0
for job in $(jobs -p); do wait "$job" || rc=1; done
echo "training: $(($(date +%s) - start)) s, exit $rc"
for run in "$@"; do tail -n 8 "$W/${run%%=*}.log"; done

# every seed pair of a ratio, at every point: decoders only (MMCS both ways, exact one-to-one matching)
compare_one() {
    local run="$1" step="$2" a="$3" b="$4" dir="$W/$1/at-step-$2"
    [ "$step" = "$STEPS" ] && dir="$W/$run"
    [ -f "$dir/$a/cfg.json" ] && [ -f "$dir/$b/cfg.json" ] || return 0
    "$W/sae4j" compare --device "$DEVICE" "$dir/$a" "$dir/$b" --json "$W/cmp-$run-$step-$a-$b.json" >"$W/cmp-$run-$step-$a-$b.log" 2>&1
}
export -f compare_one
export W STEPS="$steps" DEVICE="$device"
for run in "$@"; do
    name="${run%%=*}"
    [ -f "$W/$name/train_log.csv" ] || continue
    saes="$(tail -n +2 "$W/$name/train_log.csv" | cut -d, -f4 | sort -u | grep -- '-seed-')"
    for a in $saes; do
        for b in $saes; do
            [ "${a%-seed-*}" = "${b%-seed-*}" ] && [[ "$a" < "$b" ]] || continue
            for s in $(echo "$snaps" | tr , ' ') "$steps"; do echo "$name $s $a $b"; done
        done
    done
done | xargs -P 6 -L 1 bash -c 'compare_one "$@"' _ || rc=1
echo "total: $(($(date +%s) - start)) s, exit $rc"
python3 "$ROOT/cuda/gpu_converge_report.py" "$W" "$steps" "$@" | tee "$OUT/converge.md"
(cd "$W" && tar -czf "$OUT/converge-logs.tgz" ./*.log ./cmp-*.json ./*/train_log.csv 2>/dev/null)
rm -rf "$W"
exit $rc
