// cub/device/device_radix_sort.cuh (host emulation): DeviceRadixSort::SortPairs, a stable sort of
// (key, value) pairs by bits [begin_bit, end_bit) of the keys, with CUB's two-call protocol (a null
// temp pointer asks for the size; the size grows with the item count).
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "../../cuda_runtime.h"

namespace cub {
struct DeviceRadixSort {
    template <typename K, typename V>
    static cudaError_t SortPairs(void* temp, size_t& bytes, const K* keys_in, K* keys_out, const V* vals_in, V* vals_out,
                                 int n, int begin_bit = 0, int end_bit = (int)sizeof(K) * 8, cudaStream_t = nullptr) {
        const size_t need = 512 + 8 * (size_t)(n / 64 + 1);
        if (!temp) {
            bytes = need;
            return cudaSuccess;
        }
        if (bytes < need || n < 0 || begin_bit < 0 || end_bit > (int)sizeof(K) * 8 || begin_bit >= end_bit)
            return emu::fail(cudaErrorInvalidValue);
        using U = std::make_unsigned_t<K>;
        const U mask = end_bit - begin_bit >= (int)sizeof(K) * 8 ? (U)~(U)0 : (U)(((U)1 << (end_bit - begin_bit)) - 1);
        auto bits = [&](int i) { return (U)(((U)keys_in[i] >> begin_bit) & mask); };
        std::vector<int> idx((size_t)n);
        std::iota(idx.begin(), idx.end(), 0);
        std::stable_sort(idx.begin(), idx.end(), [&](int x, int y) { return bits(x) < bits(y); });
        std::vector<K> k((size_t)n);
        std::vector<V> v((size_t)n);
        for (int i = 0; i < n; ++i) {
            k[i] = keys_in[idx[i]];
            v[i] = vals_in[idx[i]];
        }
        std::copy(k.begin(), k.end(), keys_out);
        std::copy(v.begin(), v.end(), vals_out);
        return cudaSuccess;
    }
};
}  // namespace cub
