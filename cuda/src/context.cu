// context.cu: probing, error strings, contexts (a device and a non-blocking stream), device
// memory, host <-> device copies, fills and stream sync; and the library's error recording.
//
// The CUDA runtime is linked statically, so this library loads on machines without a driver;
// there the first runtime call returns cudaErrorInsufficientDriver (35) or cudaErrorNoDevice
// (100), which every entry point turns into a status. The only global state is the thread-local
// last-error string.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <new>

#include "internal.cuh"

namespace sae4j_cuda {

namespace {
constexpr int64_t MAX_STAGED_UPLOAD = (int64_t)64 << 20;  // larger uploads are copied synchronously
thread_local char t_last_error[1024] = "";

void record(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_last_error, sizeof t_last_error, fmt, ap);
    va_end(ap);
}

// fill (n) = value: grid-stride, one element per thread per step.
template <typename T>
__global__ void fill_kernel(int64_t n, T* __restrict__ dst, T value) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = value;
}

template <typename T>
int fill(sae4j_cuda_ctx* ctx, T* dst, int64_t n, T value) {
    REQUIRE(ctx != nullptr);
    REQUIRE(n >= 0);
    if (n == 0) return SAE4J_CUDA_OK;
    REQUIRE(dst != nullptr);
    STATUS_CHECK(enter(ctx));
    const int threads = 256;
    int64_t blocks = ceil_div(n, threads), cap = (int64_t)ctx->sm_count * 32;
    fill_kernel<T><<<grid_x(blocks < cap ? blocks : cap), threads, 0, ctx->stream>>>(n, dst, value);
    LAUNCH_CHECK("fill_kernel");
    return SAE4J_CUDA_OK;
}

int ctx_create_impl(int device, sae4j_cuda_ctx** out) {
    REQUIRE(device >= 0);
    int count = 0;
    CUDA_CHECK(cudaGetDeviceCount(&count));
    REQUIRE(device < count);
    int major = 0, minor = 0, sms = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    if (major < 8) {
        record("%s:%d: device %d has compute capability %d.%d; the kernels need 8.0 or newer",
               __FILE__, __LINE__, device, major, minor);
        return SAE4J_CUDA_ERR_UNSUPPORTED;
    }
    CUDA_CHECK(cudaSetDevice(device));
    sae4j_cuda_ctx* c = new (std::nothrow) sae4j_cuda_ctx();
    if (!c) return fail_nomem(__FILE__, __LINE__, "host memory for the context", sizeof(sae4j_cuda_ctx));
    c->device = device;
    c->sm_count = sms > 0 ? sms : 1;
    c->stream = nullptr;
    cudaError_t e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        delete c;
        return fail_cuda(__FILE__, __LINE__, "cudaStreamCreateWithFlags", e);
    }
    for (int k = 0; k < 2 && e == cudaSuccess; ++k)
        e = cudaEventCreateWithFlags(&c->staged[k], cudaEventDisableTiming);
    if (e != cudaSuccess) {
        for (int k = 0; k < 2; ++k)
            if (c->staged[k]) (void)cudaEventDestroy(c->staged[k]);
        (void)cudaStreamDestroy(c->stream);
        delete c;
        return fail_cuda(__FILE__, __LINE__, "cudaEventCreateWithFlags", e);
    }
    *out = c;
    return SAE4J_CUDA_OK;
}

}  // namespace

int fail_cuda(const char* file, int line, const char* call, cudaError_t e) {
    record("%s:%d: %s: %s: %s", file, line, call, cudaGetErrorName(e), cudaGetErrorString(e));
    // Clear a non-sticky error, so that the next launch check does not report it again.
    (void)cudaGetLastError();
    return e == cudaErrorMemoryAllocation ? SAE4J_CUDA_ERR_NOMEM : SAE4J_CUDA_ERR_CUDA;
}

int fail_nomem(const char* file, int line, const char* what, int64_t bytes) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();
        free_b = total_b = 0;
    }
    record("%s:%d: cudaMalloc(%s): cudaErrorMemoryAllocation: %lld bytes asked, %llu bytes free "
           "of %llu",
           file, line, what, (long long)bytes, (unsigned long long)free_b,
           (unsigned long long)total_b);
    return SAE4J_CUDA_ERR_NOMEM;
}

int fail_arg(const char* file, int line, const char* cond) {
    record("%s:%d: invalid argument: %s does not hold", file, line, cond);
    return SAE4J_CUDA_ERR_ARG;
}

int fail_unsupported(const char* file, int line, const char* what) {
    record("%s:%d: not supported: %s", file, line, what);
    return SAE4J_CUDA_ERR_UNSUPPORTED;
}

int dev_malloc(void** p, int64_t bytes, const char* what, const char* file, int line) {
    *p = nullptr;
    cudaError_t e = cudaMalloc(p, (size_t)bytes);
    if (e == cudaErrorMemoryAllocation) {
        *p = nullptr;
        return fail_nomem(file, line, what, bytes);
    }
    if (e != cudaSuccess) {
        *p = nullptr;
        return fail_cuda(file, line, "cudaMalloc", e);
    }
    return SAE4J_CUDA_OK;
}

int enter(sae4j_cuda_ctx* ctx) {
    int cur = -1;
    CUDA_CHECK(cudaGetDevice(&cur));
    if (cur != ctx->device) CUDA_CHECK(cudaSetDevice(ctx->device));
    return SAE4J_CUDA_OK;
}

}  // namespace sae4j_cuda

using namespace sae4j_cuda;

// ---- probing ----

SAE4J_EXPORT int sae4j_cuda_probe(int* device_count, int* cuda_error) {
    REQUIRE(device_count != nullptr);
    *device_count = 0;
    if (cuda_error) *cuda_error = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        if (cuda_error) *cuda_error = (int)e;
        return fail_cuda(__FILE__, __LINE__, "cudaGetDeviceCount", e);
    }
    int usable = 0;
    for (int i = 0; i < n; ++i) {
        int major = 0;
        e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, i);
        if (e != cudaSuccess) {
            if (cuda_error) *cuda_error = (int)e;
            return fail_cuda(__FILE__, __LINE__, "cudaDeviceGetAttribute", e);
        }
        usable += major >= 8;
    }
    if (usable == 0) {
        record("%s:%d: %d device(s), none of compute capability 8.0 or newer", __FILE__, __LINE__, n);
        return SAE4J_CUDA_ERR_UNSUPPORTED;
    }
    *device_count = n;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT const char* sae4j_cuda_error_name(int cuda_error) {
    return cudaGetErrorName((cudaError_t)cuda_error);
}

SAE4J_EXPORT const char* sae4j_cuda_error_string(int cuda_error) {
    return cudaGetErrorString((cudaError_t)cuda_error);
}

SAE4J_EXPORT int sae4j_cuda_versions(int* runtime, int* driver) {
    REQUIRE(runtime != nullptr && driver != nullptr);
    *runtime = 0;
    *driver = 0;
    CUDA_CHECK(cudaRuntimeGetVersion(runtime));
    int drv = 0;
    if (cudaDriverGetVersion(&drv) != cudaSuccess) {  // no driver: 0, as documented
        (void)cudaGetLastError();
        drv = 0;
    }
    *driver = drv;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_device_info(int device, char* name, int len, int* cc_major,
                                        int* cc_minor, int64_t* total_bytes) {
    REQUIRE(device >= 0);
    REQUIRE(name != nullptr && len >= 1);
    REQUIRE(cc_major != nullptr && cc_minor != nullptr && total_bytes != nullptr);
    cudaDeviceProp p;
    CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    snprintf(name, (size_t)len, "%s", p.name);
    *cc_major = p.major;
    *cc_minor = p.minor;
    *total_bytes = (int64_t)p.totalGlobalMem;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT const char* sae4j_cuda_last_error(void) { return t_last_error; }

// ---- contexts ----

SAE4J_EXPORT sae4j_cuda_ctx* sae4j_cuda_ctx_create(int device, int* status) {
    sae4j_cuda_ctx* c = nullptr;
    int st = ctx_create_impl(device, &c);
    if (status) *status = st;
    return st == SAE4J_CUDA_OK ? c : nullptr;
}

SAE4J_EXPORT void sae4j_cuda_ctx_destroy(sae4j_cuda_ctx* ctx) {
    if (!ctx) return;
    if (cudaSetDevice(ctx->device) == cudaSuccess) {
        (void)cudaStreamSynchronize(ctx->stream);
        for (int k = 0; k < 2; ++k) {
            if (ctx->staging[k]) (void)cudaFreeHost(ctx->staging[k]);
            if (ctx->staged[k]) (void)cudaEventDestroy(ctx->staged[k]);
        }
        (void)cudaStreamDestroy(ctx->stream);
    }
    (void)cudaGetLastError();
    delete ctx;
}

SAE4J_EXPORT void* sae4j_cuda_ctx_stream(sae4j_cuda_ctx* ctx) {
    return ctx ? (void*)ctx->stream : nullptr;
}

SAE4J_EXPORT int sae4j_cuda_ctx_device(const sae4j_cuda_ctx* ctx) { return ctx ? ctx->device : -1; }

// ---- memory ----

SAE4J_EXPORT void* sae4j_cuda_malloc(sae4j_cuda_ctx* ctx, int64_t bytes, int* status) {
    int st;
    void* p = nullptr;
    if (!ctx || bytes <= 0) {
        st = fail_arg(__FILE__, __LINE__, "ctx != nullptr && bytes > 0");
    } else {
        st = enter(ctx);
        if (st == SAE4J_CUDA_OK) st = dev_malloc(&p, bytes, "sae4j_cuda_malloc", __FILE__, __LINE__);
    }
    if (status) *status = st;
    return st == SAE4J_CUDA_OK ? p : nullptr;
}

SAE4J_EXPORT int sae4j_cuda_free(sae4j_cuda_ctx* ctx, void* ptr) {
    REQUIRE(ctx != nullptr);
    if (!ptr) return SAE4J_CUDA_OK;
    STATUS_CHECK(enter(ctx));
    CUDA_CHECK(cudaFree(ptr));
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_upload(sae4j_cuda_ctx* ctx, void* dst, const void* host_src,
                                   int64_t bytes) {
    REQUIRE(ctx != nullptr && bytes >= 0);
    if (bytes == 0) return SAE4J_CUDA_OK;
    REQUIRE(dst != nullptr && host_src != nullptr);
    STATUS_CHECK(enter(ctx));
    if (bytes > MAX_STAGED_UPLOAD) {  // rare and large (whole dictionaries): copy and wait
        CUDA_CHECK(cudaMemcpyAsync(dst, host_src, (size_t)bytes, cudaMemcpyHostToDevice, ctx->stream));
        CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
        return SAE4J_CUDA_OK;
    }
    // A batch: into the pinned buffer not used by the previous upload, once its own previous copy
    // has left (one step ago), then an asynchronous copy in stream order. The host does not wait
    // for the kernels, so it prepares the next batch while the GPU trains on this one.
    const int k = ctx->next_staging;
    CUDA_CHECK(cudaEventSynchronize(ctx->staged[k]));
    if (ctx->staging_bytes[k] < (size_t)bytes) {
        if (ctx->staging[k]) CUDA_CHECK(cudaFreeHost(ctx->staging[k]));
        ctx->staging[k] = nullptr;
        ctx->staging_bytes[k] = 0;
        const cudaError_t e = cudaHostAlloc(&ctx->staging[k], (size_t)bytes, cudaHostAllocDefault);
        if (e != cudaSuccess) {
            ctx->staging[k] = nullptr;
            return fail_nomem(__FILE__, __LINE__, "pinned host memory for upload staging", bytes);
        }
        ctx->staging_bytes[k] = (size_t)bytes;
    }
    memcpy(ctx->staging[k], host_src, (size_t)bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst, ctx->staging[k], (size_t)bytes, cudaMemcpyHostToDevice, ctx->stream));
    CUDA_CHECK(cudaEventRecord(ctx->staged[k], ctx->stream));
    ctx->next_staging = k ^ 1;
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_download(sae4j_cuda_ctx* ctx, void* host_dst, const void* src,
                                     int64_t bytes) {
    REQUIRE(ctx != nullptr && bytes >= 0);
    if (bytes == 0) return SAE4J_CUDA_OK;
    REQUIRE(host_dst != nullptr && src != nullptr);
    STATUS_CHECK(enter(ctx));
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, (size_t)bytes, cudaMemcpyDeviceToHost, ctx->stream));
    CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_copy(sae4j_cuda_ctx* ctx, void* dst, const void* src, int64_t bytes) {
    REQUIRE(ctx != nullptr && bytes >= 0);
    if (bytes == 0) return SAE4J_CUDA_OK;
    REQUIRE(dst != nullptr && src != nullptr);
    STATUS_CHECK(enter(ctx));
    CUDA_CHECK(cudaMemcpyAsync(dst, src, (size_t)bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    return SAE4J_CUDA_OK;
}

SAE4J_EXPORT int sae4j_cuda_fill_f32(sae4j_cuda_ctx* ctx, float* dst, int64_t n, float value) {
    return fill<float>(ctx, dst, n, value);
}

SAE4J_EXPORT int sae4j_cuda_fill_i32(sae4j_cuda_ctx* ctx, int32_t* dst, int64_t n, int32_t value) {
    return fill<int32_t>(ctx, dst, n, value);
}

SAE4J_EXPORT int sae4j_cuda_sync(sae4j_cuda_ctx* ctx) {
    REQUIRE(ctx != nullptr);
    STATUS_CHECK(enter(ctx));
    CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
    return SAE4J_CUDA_OK;
}
