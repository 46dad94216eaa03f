// Thread pools of the backend contexts. std::thread rather than OpenMP: the jar must load on
// machines without libgomp. Each context owns a pool, so creating or closing one backend never
// changes another. OpenBLAS runs single-threaded inside the pools' threads (elementwise.cpp): its
// own pthreads workers spin for about 0.1 s after every call (THREAD_TIMEOUT 2^28 cycles), which
// on a 2-core machine took a core from the sparse kernels that follow a GEMM (backward 31 -> 20 ms
// at B=4096, d=512, m=4096 once they were idle), and its thread count is process-wide.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "internal.h"

namespace sae4j {

thread_local bool in_parallel_loop = false;  // this thread runs (part of) a parallel loop

class Pool {
public:
    explicit Pool(int n) : size_(n) {
        for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { work(i, 0); });
    }
    ~Pool() { stop_workers(); }

    int size() const { return size_; }

    // Returns false (without running anything) when another parallel_for holds the pool.
    bool run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
        std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
        if (!run.owns_lock()) return false;
        int64_t chunks = std::min<int64_t>(size(), std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
        {
            std::lock_guard<std::mutex> lk(m_);
            fn_ = &fn;
            n_ = n;
            chunks_ = chunks;
            pending_ = static_cast<int>(chunks) - 1;
            ++generation_;
        }
        cv_.notify_all();
        chunk(0);
        std::unique_lock<std::mutex> lk(m_);
        done_.wait(lk, [this] { return pending_ == 0; });
        fn_ = nullptr;
        return true;
    }

private:
    void chunk(int64_t c) {
        int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
        if (begin < end) (*fn_)(begin, end);
    }

    void work(int id, uint64_t seen) {
        for (;;) {
            {
                std::unique_lock<std::mutex> lk(m_);
                cv_.wait(lk, [&] { return stopping_ || generation_ != seen; });
                if (stopping_) return;
                seen = generation_;
                if (id >= chunks_) continue;
            }
            in_parallel_loop = true;  // a nested parallel_for in fn runs serially
            chunk(id);
            in_parallel_loop = false;
            std::lock_guard<std::mutex> lk(m_);
            if (--pending_ == 0) done_.notify_one();
        }
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lk(m_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }

    std::vector<std::thread> workers_;
    const int size_;
    std::mutex run_mutex_, m_;
    std::condition_variable cv_, done_;
    const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
    int64_t n_ = 0, chunks_ = 1;
    int pending_ = 0;
    uint64_t generation_ = 0;
    bool stopping_ = false;
};

}  // namespace sae4j

void sae4j_cpu_ctx::parallel_for(int64_t n, int64_t grain,
                                 const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    // Nested in another parallel loop of this thread: run serially here (the pool is busy, and
    // try-locking a mutex this thread holds would be undefined).
    if (threads == 1 || n <= grain || sae4j::in_parallel_loop) {
        fn(0, n);
        return;
    }
    sae4j::in_parallel_loop = true;
    const bool ran = pool->run(n, grain, fn);  // false while another thread's loop holds the pool
    if (!ran) fn(0, n);
    sae4j::in_parallel_loop = false;
}

extern "C" sae4j_cpu_ctx* sae4j_cpu_ctx_create(int threads, int isa, int* status) {
    int unused;
    if (!status) status = &unused;
    if (threads < 1 || threads > 4096 || isa < SAE4J_ISA_AUTO || isa > SAE4J_ISA_AVX512) {
        *status = SAE4J_ERR_ARG;
        return nullptr;
    }
    if (isa == SAE4J_ISA_AUTO) isa = sae4j::best_isa();
    if (!sae4j_cpu_cpu_supports(isa)) {
        *status = SAE4J_ERR_UNSUPPORTED;
        return nullptr;
    }
    try {
        auto* ctx = new sae4j_cpu_ctx();
        ctx->threads = threads;
        ctx->isa = isa;
        ctx->ops = &sae4j::vec_for(isa);
        ctx->pool = std::make_unique<sae4j::Pool>(threads);
        *status = SAE4J_OK;
        return ctx;
    } catch (...) {  // std::bad_alloc, std::system_error from thread creation
        *status = SAE4J_ERR_NOMEM;
        return nullptr;
    }
}

extern "C" void sae4j_cpu_ctx_destroy(sae4j_cpu_ctx* ctx) { delete ctx; }

extern "C" int sae4j_cpu_ctx_threads(const sae4j_cpu_ctx* ctx) { return ctx ? ctx->threads : 0; }

extern "C" int sae4j_cpu_ctx_isa(const sae4j_cpu_ctx* ctx) { return ctx ? ctx->isa : 0; }
