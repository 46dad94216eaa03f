// cuda_runtime.h (host emulation): just enough of the CUDA runtime and of the device built-ins
// for the sae4j kernels and their test program to compile with g++ and run on the CPU, so that
// the library's indexing, synchronisation structure, reductions and bookkeeping can be checked on
// a machine without a GPU (cuda/test/emu/run.sh). Not a simulator of the hardware:
//  - a launch runs its blocks one after another; each block's threads are OS threads; a block
//    barrier is __syncthreads; warp shuffles and ballots meet at a per-warp barrier;
//  - "device" memory is host memory (so AddressSanitizer checks bounds); streams and events are
//    synchronous; launch configurations are validated as the hardware would (threads per block,
//    grid limits, dynamic shared memory above 48 KiB only after cudaFuncSetAttribute).
// WMMA is in mma.h beside this file, CUB's scan in cub/device/device_scan.cuh.
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <barrier>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorNotReady = 600,
};
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaDeviceAttr {
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
#define cudaStreamNonBlocking 0x01
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00
struct CUstream_st {};
struct CUevent_st {};
typedef CUstream_st* cudaStream_t;
typedef CUevent_st* cudaEvent_t;
struct cudaDeviceProp {
    char name[256];
    int major, minor;
    size_t totalGlobalMem;
};

namespace emu {

constexpr size_t MEMORY = (size_t)8 << 30;  // the emulated device's memory
inline cudaError_t last_error = cudaSuccess;
inline std::mutex mu;
inline std::map<const void*, int> smem_limit;  // kernel -> dynamic shared memory allowed

inline cudaError_t fail(cudaError_t e) {
    std::lock_guard<std::mutex> g(mu);
    last_error = e;
    return e;
}

struct Warp {
    std::barrier<> bar;
    alignas(8) unsigned char buf[32][8];
    explicit Warp(int n) : bar(n) {}
};
struct Block {
    std::barrier<>* bar;
    std::vector<std::unique_ptr<Warp>>* warps;
    unsigned char* dyn_smem;
};
inline thread_local Block* tl_block = nullptr;
inline thread_local int tl_tid = 0;

inline int lane() { return tl_tid & 31; }
inline Warp& warp() { return *(*tl_block->warps)[tl_tid >> 5]; }
inline unsigned char* dyn_smem() { return tl_block->dyn_smem; }

}  // namespace emu

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

// ---- device built-ins ----
inline void __syncthreads() { emu::tl_block->bar->arrive_and_wait(); }
template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int offset) {
    static_assert(sizeof(T) <= 8, "shuffle of a wide type");
    emu::Warp& w = emu::warp();
    memcpy(w.buf[emu::lane()], &v, sizeof(T));
    w.bar.arrive_and_wait();
    T r;
    memcpy(&r, w.buf[emu::lane() ^ offset], sizeof(T));
    w.bar.arrive_and_wait();
    return r;
}
inline unsigned __ballot_sync(unsigned, int pred) {
    emu::Warp& w = emu::warp();
    w.buf[emu::lane()][0] = pred != 0;
    w.bar.arrive_and_wait();
    unsigned r = 0;
    for (int l = 0; l < 32; ++l) r |= (unsigned)w.buf[l][0] << l;
    w.bar.arrive_and_wait();
    return r;
}
inline void __syncwarp(unsigned = 0xffffffffu) { emu::warp().bar.arrive_and_wait(); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
// IEEE double arithmetic, rounded to nearest, never contracted into a multiply-add
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __int_as_float(int i) {
    float f;
    memcpy(&f, &i, 4);
    return f;
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    return u;
}
inline float __uint_as_float(unsigned u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
    unsigned long long cur = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return cur;
}

namespace emu {

// kernel<<<grid, block, smem, stream>>>(args) is rewritten to Launch(grid, block, smem, stream).run(kernel, args).
struct Launch {
    dim3 g, b;
    size_t smem;
    Launch(dim3 g_, dim3 b_, size_t smem_ = 0, cudaStream_t = nullptr) : g(g_), b(b_), smem(smem_) {}
    template <typename... P, typename... A>
    void run(void (*k)(P...), A&&... args) {
        const long nt = (long)b.x * b.y * b.z;
        size_t allowed = 48 * 1024;
        {
            std::lock_guard<std::mutex> lk(mu);
            auto it = smem_limit.find((const void*)k);
            if (it != smem_limit.end()) allowed = (size_t)it->second;
        }
        if (nt < 1 || nt > 1024 || b.z > 64 || g.x < 1 || g.y < 1 || g.z < 1 || g.x > 0x7fffffffu ||
            g.y > 65535 || g.z > 65535 || smem > allowed) {
            fprintf(stderr, "emu: invalid launch config grid (%u,%u,%u) block (%u,%u,%u) smem %zu\n",
                    g.x, g.y, g.z, b.x, b.y, b.z, smem);
            fail(cudaErrorInvalidConfiguration);
            return;
        }
        std::tuple<P...> params(std::forward<A>(args)...);
        std::barrier<> bar(nt);
        std::vector<std::unique_ptr<Warp>> warps;
        for (long w = 0; w < (nt + 31) / 32; ++w)
            warps.emplace_back(new Warp((int)std::min<long>(32, nt - w * 32)));
        std::vector<unsigned char> dyn(smem + 128);
        unsigned char* base = dyn.data() + (128 - ((uintptr_t)dyn.data() & 127)) % 128;
        Block blk{&bar, &warps, base};
        const dim3 G = g, Bd = b;
        std::vector<std::thread> threads;
        threads.reserve(nt);
        for (long t = 0; t < nt; ++t)
            threads.emplace_back([&, t]() {
                tl_block = &blk;
                tl_tid = (int)t;
                threadIdx = dim3((unsigned)(t % Bd.x), (unsigned)(t / Bd.x % Bd.y), (unsigned)(t / (Bd.x * Bd.y)));
                blockDim = Bd;
                gridDim = G;
                for (unsigned z = 0; z < G.z; ++z)
                    for (unsigned y = 0; y < G.y; ++y)
                        for (unsigned x = 0; x < G.x; ++x) {
                            blockIdx = dim3(x, y, z);
                            std::apply(k, params);
                            bar.arrive_and_wait();  // the block ends before the next begins
                        }
            });
        for (auto& th : threads) th.join();
    }
};

}  // namespace emu

// ---- runtime API ----
inline const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorNotReady: return "cudaErrorNotReady";
    }
    return "unrecognized error code";
}
inline const char* cudaGetErrorString(cudaError_t e) {
    return e == cudaSuccess ? "no error" : e == cudaErrorNoDevice ? "no CUDA-capable device is detected" : "emulated error";
}
inline cudaError_t cudaGetLastError() {
    std::lock_guard<std::mutex> g(emu::mu);
    cudaError_t e = emu::last_error;
    emu::last_error = cudaSuccess;
    return e;
}
inline cudaError_t cudaPeekAtLastError() {
    std::lock_guard<std::mutex> g(emu::mu);
    return emu::last_error;
}
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : emu::fail(cudaErrorInvalidDevice); }
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int d) {
    if (d != 0) return emu::fail(cudaErrorInvalidDevice);
    *v = a == cudaDevAttrMultiProcessorCount ? 4 : a == cudaDevAttrComputeCapabilityMajor ? 9 : 0;
    return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
    if (d != 0) return emu::fail(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "sae4j host emulator");
    p->major = 9;
    p->totalGlobalMem = emu::MEMORY;
    return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) { *v = 13000; return cudaSuccess; }
inline cudaError_t cudaDriverGetVersion(int* v) { *v = 13000; return cudaSuccess; }
inline cudaError_t cudaMemGetInfo(size_t* f, size_t* t) { *f = *t = emu::MEMORY; return cudaSuccess; }
template <typename T>
inline cudaError_t cudaMalloc(T** p, size_t bytes) {
    *p = nullptr;
    if (bytes > emu::MEMORY) return emu::fail(cudaErrorMemoryAllocation);
    *p = (T*)aligned_alloc(256, (bytes + 255) / 256 * 256);
    return *p ? cudaSuccess : emu::fail(cudaErrorMemoryAllocation);
}
inline cudaError_t cudaFree(void* p) { free(p); return cudaSuccess; }
inline cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) { return cudaMalloc(p, bytes); }
inline cudaError_t cudaFreeHost(void* p) { free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t) {
    memmove(dst, src, n);
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int v, size_t n, cudaStream_t) { memset(dst, v, n); return cudaSuccess; }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { *s = new CUstream_st; return cudaSuccess; }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) { delete s; return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { *e = new CUevent_st; return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) { delete e; return cudaSuccess; }
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
template <typename K>
inline cudaError_t cudaFuncSetAttribute(K* k, cudaFuncAttribute, int v) {
    if (v > 227 * 1024) return emu::fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> g(emu::mu);
    emu::smem_limit[(const void*)k] = v;
    return cudaSuccess;
}
