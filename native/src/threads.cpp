// A fixed pool of worker threads for the kernels' parallel loops. std::thread rather than OpenMP:
// the jar must load on machines without libgomp, and OpenBLAS (pthreads build) keeps its own pool.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "internal.h"

extern "C" void openblas_set_num_threads(int);

namespace sae4j {
namespace {

class Pool {
public:
    explicit Pool(int n) { resize(n); }
    ~Pool() { stop_workers(); }

    int size() const { return size_.load(); }

    void resize(int n) {
        std::lock_guard<std::mutex> run(run_mutex_);
        stop_workers();
        stopping_ = false;
        // New workers must not mistake a past generation for work to do.
        const uint64_t current = generation_;
        for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, current] { work(i, current); });
        size_.store(n);
    }

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
            chunk(id);
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
        workers_.clear();
    }

    std::vector<std::thread> workers_;
    std::atomic<int> size_{1};  // read without the run lock by parallel_for and thread_count
    std::mutex run_mutex_, m_;
    std::condition_variable cv_, done_;
    const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
    int64_t n_ = 0, chunks_ = 1;
    int pending_ = 0;
    uint64_t generation_ = 0;
    bool stopping_ = false;
};

int default_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

Pool& pool() {
    static Pool p(default_threads());
    return p;
}

}  // namespace

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (pool().size() == 1 || n <= grain || !pool().run(n, grain, fn)) fn(0, n);
}

int thread_count() { return pool().size(); }

}  // namespace sae4j

extern "C" int sae4j_cpu_set_threads(int n) {
    if (n < 1 || n > 4096) return SAE4J_ERR_ARG;
    sae4j::pool().resize(n);
    openblas_set_num_threads(n);
    return SAE4J_OK;
}

extern "C" int sae4j_cpu_get_threads(void) { return sae4j::thread_count(); }
