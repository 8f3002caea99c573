/* The lane layout shared by the batched kernels (native.c) and the single-state kernel
 * (state.c): LANES samples or amplitudes side by side, so that every gate is a loop of plain
 * vector arithmetic; scratch buffers; per-lane 2x2 matrices and the one-gate sweep. */
#ifndef HYBRIDQ_LANES_H
#define HYBRIDQ_LANES_H

#define _DEFAULT_SOURCE /* madvise under -std=c11 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define LANES 16

/* A 64-byte aligned buffer; large ones on huge pages where the kernel offers them (a fresh
   4 KiB page costs a fault on first touch: for a whole state, as long as a pass over it). */
static inline void *lane_buffer(int64_t reals, size_t size) {
    size_t bytes = (size_t)reals * size, huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return aligned_alloc(64, (bytes + 63) / 64 * 64);
    bytes = (bytes + huge - 1) / huge * huge;
    void *buffer = aligned_alloc(huge, bytes);
#ifdef MADV_HUGEPAGE
    if (buffer) madvise(buffer, bytes, MADV_HUGEPAGE);
#endif
    return buffer;
}

/* A scratch buffer of the calling thread, kept for its next call up to KEPT_BYTES (one buffer
   per thread, OpenMP's pool threads included): a fresh buffer costs a page fault per page on
   first touch, as long as a pass of arithmetic over it (and far more on some virtual machines). */
#define KEPT_BYTES ((size_t)256 << 20)
static _Thread_local void *kept_buffer;
static _Thread_local size_t kept_bytes;

static inline void *thread_buffer(size_t bytes) {
    if (bytes == kept_bytes) return kept_buffer;
    free(kept_buffer);
    kept_buffer = NULL;
    kept_bytes = 0;
    void *buffer = lane_buffer((int64_t)bytes, 1);
    if (buffer && bytes <= KEPT_BYTES) { kept_buffer = buffer; kept_bytes = bytes; }
    return buffer;
}

static inline void release_buffer(void *buffer) {
    if (buffer != kept_buffer) free(buffer);
}

/* Copy a sub-tile between a state of rows (``row`` bytes each) and a compact buffer: the rows
   (hh << r) | c ... (hh << r) | (c + width - 1) for every hh < high, in that order. Their
   power-of-two stride would map them onto a few cache sets; the buffer is contiguous. */
static inline void subtile(char *state, char *buffer, int r, int64_t high, int64_t width, int64_t c, size_t row,
                    int to_buffer) {
    size_t chunk = (size_t)width * row;
    for (int64_t hh = 0; hh < high; hh++) {
        char *s = state + (size_t)((hh << r) | c) * row, *b = buffer + (size_t)hh * chunk;
        if (to_buffer) memcpy(b, s, chunk);
        else memcpy(s, b, chunk);
    }
}


/* The per-lane 2x2 matrix m (8 rows of LANES reals, see matrix_) as named local arrays. */
#define LANE_MATRIX(T, m)                                                                       \
    T a0r[LANES], a0i[LANES], a1r[LANES], a1i[LANES], b0r[LANES], b0i[LANES], b1r[LANES],       \
        b1i[LANES];                                                                             \
    for (int l = 0; l < LANES; l++) {                                                           \
        a0r[l] = m[l]; a0i[l] = m[LANES + l]; a1r[l] = m[2 * LANES + l];                        \
        a1i[l] = m[3 * LANES + l]; b0r[l] = m[4 * LANES + l]; b0i[l] = m[5 * LANES + l];        \
        b1r[l] = m[6 * LANES + l]; b1i[l] = m[7 * LANES + l];                                   \
    }

/* Lane l of the pair (p, q) mapped by that matrix into (x, y): x = m00 p + m01 q, y = m10 p + m11 q. */
#define MIX_LANE(l, pr, pi, qr, qi, xr, xi, yr, yi)                                             \
    xr[l] = a0r[l] * pr - a0i[l] * pi + a1r[l] * qr - a1i[l] * qi;                              \
    xi[l] = a0r[l] * pi + a0i[l] * pr + a1r[l] * qi + a1i[l] * qr;                              \
    yr[l] = b0r[l] * pr - b0i[l] * pi + b1r[l] * qr - b1i[l] * qi;                              \
    yi[l] = b0r[l] * pi + b0i[l] * pr + b1r[l] * qi + b1i[l] * qr

#define DEFINE_LANE_GATES(T, SUFFIX)                                                            \
                                                                                                \
/* The 8 reals of one qubit's matrix for every lane: m[k * LANES + l], k = re/im of m00..m11;  \
   the adjoint (conjugate transpose) if adjoint. A negative stride: mats in lane blocks (see the \
   layouts), first the block's first sample. */                                                 \
static void matrix_##SUFFIX(const T *mats, int64_t stride, int64_t first, int64_t count,       \
                            int64_t offset, int adjoint, T *m) {                               \
    for (int l = 0; l < LANES; l++) {                                                           \
        T s[8];                                                                                 \
        for (int k = 0; k < 8; k++)                                                             \
            s[k] = stride < 0 ? mats[first / LANES * -stride + (offset + k) * LANES + l]        \
                              : mats[(first + (l < count ? l : count - 1)) * stride + offset + k];\
        for (int k = 0; k < 8; k++) m[k * LANES + l] = s[k];                                    \
        if (adjoint) {                                                                          \
            m[2 * LANES + l] = s[4]; m[3 * LANES + l] = -s[5];                                  \
            m[4 * LANES + l] = s[2]; m[5 * LANES + l] = -s[3];                                  \
            m[1 * LANES + l] = -s[1]; m[7 * LANES + l] = -s[7];                                 \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* Apply the per-lane 2x2 matrix m on the qubit whose index bit is s. */                       \
static void mix_##SUFFIX(T *restrict re, T *restrict im, int64_t N, int64_t s, const T *m) {   \
    LANE_MATRIX(T, m);                                                                          \
    for (int64_t base = 0; base < N; base += 2 * s) {                                           \
        for (int64_t i = base; i < base + s; i++) {                                             \
            T *xr = re + i * LANES, *xi = im + i * LANES;                                       \
            T *yr = re + (i + s) * LANES, *yi = im + (i + s) * LANES;                           \
            for (int l = 0; l < LANES; l++) {                                                   \
                T pr = xr[l], pi = xi[l], qr = yr[l], qi = yi[l];                               \
                MIX_LANE(l, pr, pi, qr, qi, xr, xi, yr, yi);                                    \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
}

#endif
