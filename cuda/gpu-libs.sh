# Sourced by the GPU-machine scripts (gpu-check.sh, gpu-converge.sh): puts the folders of cuBLAS 13
# and the CUDA runtime, which come there with PyTorch's nvidia-* wheels, on LD_LIBRARY_PATH.
libdirs=""
for lib in libcublas.so.13 libcublasLt.so.13 libcudart.so.13; do
    f="$(timeout 60 find / -xdev -name "$lib*" -not -path '/proc/*' 2>/dev/null | head -n1)"
    [ -n "$f" ] && libdirs="$libdirs:$(dirname "$f")"
done
export LD_LIBRARY_PATH="${libdirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset libdirs lib f
