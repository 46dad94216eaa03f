// mma.h (host emulation): the WMMA m16n16k8 TF32 subset the cosine kernel uses. Every lane holds
// the whole tile (so elementwise loops over num_elements touch the real data); mma_sync uses the
// top 19 bits of its operands as the tensor cores do and accumulates in float; only lane 0
// stores a tile (the kernel puts a barrier between the store and the reads).
#pragma once

#include "cuda_runtime.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;
template <>
struct fragment<matrix_a, 16, 16, 8, precision::tf32, row_major> {  // a(i, k) = x[i * 8 + k]
    enum { num_elements = 128 };
    float x[128];
};
template <>
struct fragment<matrix_b, 16, 16, 8, precision::tf32, col_major> {  // b(k, j) = x[j * 8 + k]
    enum { num_elements = 128 };
    float x[128];
};
template <>
struct fragment<accumulator, 16, 16, 8, float, void> {  // c(i, j) = x[i * 16 + j]
    enum { num_elements = 256 };
    float x[256];
};

inline float __float_to_tf32(float f) {  // cvt.rna.tf32.f32: nearest, ties away from zero
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
    memcpy(&f, &u, 4);
    return f;
}
inline float tf32_bits(float f) {  // what the tensor core reads of an operand
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u &= 0xffffe000u;
    memcpy(&f, &u, 4);
    return f;
}

inline void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& a,
                             const float* p, unsigned ldm) {
    for (int i = 0; i < 16; ++i)
        for (int k = 0; k < 8; ++k) a.x[i * 8 + k] = p[(size_t)i * ldm + k];
}
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& b,
                             const float* p, unsigned ldm) {
    for (int j = 0; j < 16; ++j)
        for (int k = 0; k < 8; ++k) b.x[j * 8 + k] = p[(size_t)j * ldm + k];
}
inline void fill_fragment(fragment<accumulator, 16, 16, 8, float, void>& c, float v) {
    for (float& e : c.x) e = v;
}
inline void mma_sync(fragment<accumulator, 16, 16, 8, float, void>& d,
                     const fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& a,
                     const fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& b,
                     const fragment<accumulator, 16, 16, 8, float, void>& c) {
    float out[256];
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) {
            float s = c.x[i * 16 + j];
            for (int k = 0; k < 8; ++k) s = fmaf(tf32_bits(a.x[i * 8 + k]), tf32_bits(b.x[j * 8 + k]), s);
            out[i * 16 + j] = s;
        }
    memcpy(d.x, out, sizeof out);
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float, void>& c,
                              unsigned ldm, layout_t) {
    if (emu::lane() != 0) return;
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) p[(size_t)i * ldm + j] = c.x[i * 16 + j];
}

}  // namespace wmma
}  // namespace nvcuda
