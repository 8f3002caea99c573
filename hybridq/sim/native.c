/* Whole-circuit CPU kernels for layered programs on batches of small states.
 *
 * The CPU twin of the Triton kernels in fused.py. A program is a list of layers, each a 2x2
 * matrix on every qubit followed by an optional permutation of the basis states. Samples are
 * processed LANES at a time with the lanes innermost: amplitude i of sample b lives at
 * re[i * LANES + b], so each gate is a loop of plain vector arithmetic (the compiler turns the
 * lane loops into SIMD instructions) on a block that stays in cache for the whole circuit.
 *
 * Layout of the arguments (complex numbers interleaved re, im; strides in real numbers; a
 * stride of 0 broadcasts one sample to the whole batch):
 *   psi   (B, N) complex        the input states             psi_stride
 *   mats  (B, L, n, 2, 2)       each layer's qubit matrices   mats_stride
 *   perm  (L, N) int32           the gather index of each layer (used where has_perm[l])
 * Qubit 0 is the most significant bit of an index, as everywhere in hybridq.
 */
#define _DEFAULT_SOURCE /* madvise under -std=c11 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define LANES 16
/* States of BLOCKED_FROM qubits or more are cache-blocked in tiles of 2**BLOCK_BITS amplitudes
   (x 16 lanes); measured on 2 cores: blocking pays from 15 qubits (16 qubits, W1 kernels: 1.06 -> 0.94 s), not at 12-14. */
#define BLOCK_BITS 11
#define BLOCKED_FROM 15

/* A 64-byte aligned buffer; large ones on huge pages where the kernel offers them (a fresh
   4 KiB page costs a fault on first touch: for a whole state, as long as a pass over it). */
static void *lane_buffer(int64_t reals, size_t size) {
    size_t bytes = (size_t)reals * size, huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return aligned_alloc(64, (bytes + 63) / 64 * 64);
    bytes = (bytes + huge - 1) / huge * huge;
    void *buffer = aligned_alloc(huge, bytes);
#ifdef MADV_HUGEPAGE
    if (buffer) madvise(buffer, bytes, MADV_HUGEPAGE);
#endif
    return buffer;
}

/* Copy a sub-tile between a state of rows (``row`` bytes each) and a compact buffer: the rows
   (hh << r) | c ... (hh << r) | (c + width - 1) for every hh < high, in that order. Their
   power-of-two stride would map them onto a few cache sets; the buffer is contiguous. */
static void subtile(char *state, char *buffer, int r, int64_t high, int64_t width, int64_t c, size_t row,
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

#define DEFINE_KERNELS(T, SUFFIX)                                                               \
                                                                                                \
/* Load samples first .. first+count-1 (lanes past count repeat the last sample). */           \
static void load_##SUFFIX(const T *src, int64_t stride, int64_t first, int64_t count,          \
                          int64_t N, T *re, T *im) {                                           \
    for (int l = 0; l < LANES; l++) {                                                           \
        const T *s = src + (first + (l < count ? l : count - 1)) * stride;                      \
        for (int64_t i = 0; i < N; i++) {                                                       \
            re[i * LANES + l] = s[2 * i];                                                       \
            im[i * LANES + l] = s[2 * i + 1];                                                   \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static void store_##SUFFIX(T *dst, int64_t first, int64_t count, int64_t N,                    \
                           const T *re, const T *im) {                                         \
    for (int l = 0; l < count; l++) {                                                           \
        T *d = dst + (first + l) * 2 * N;                                                       \
        for (int64_t i = 0; i < N; i++) {                                                       \
            d[2 * i] = re[i * LANES + l];                                                       \
            d[2 * i + 1] = im[i * LANES + l];                                                   \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* The 8 reals of one qubit's matrix for every lane: m[k * LANES + l], k = re/im of m00..m11;  \
   the adjoint (conjugate transpose) if adjoint. */                                             \
static void matrix_##SUFFIX(const T *mats, int64_t stride, int64_t first, int64_t count,       \
                            int64_t offset, int adjoint, T *m) {                               \
    for (int l = 0; l < LANES; l++) {                                                           \
        const T *s = mats + (first + (l < count ? l : count - 1)) * stride + offset;            \
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
}                                                                                               \
                                                                                                \
static void gather_##SUFFIX(const T *restrict src, T *restrict dst, const int32_t *index,      \
                            int64_t N) {                                                       \
    for (int64_t i = 0; i < N; i++) memcpy(dst + i * LANES, src + (int64_t)index[i] * LANES,   \
                                           LANES * sizeof(T));                                  \
}                                                                                               \
                                                                                                \
/* One gate of the adjoint sweep in one pass over the pairs of bit s: S[r][c] += sum over pairs \
   of lam_r conj(psi_c) (psi, lam after the gate), then psi and lam un-computed by the adjoint  \
   matrix m (see matrix_ with adjoint set). */                                                  \
static void adjoint_step_##SUFFIX(T *restrict re, T *restrict im, T *restrict gr,              \
                                  T *restrict gi, int64_t N, int64_t s, const T *m, T *S) {     \
    T acc[8][LANES];                                                                            \
    LANE_MATRIX(T, m);                                                                          \
    memset(acc, 0, sizeof(acc));                                                                \
    for (int64_t base = 0; base < N; base += 2 * s) {                                           \
        for (int64_t i = base; i < base + s; i++) {                                             \
            T *xr = re + i * LANES, *xi = im + i * LANES;                                       \
            T *yr = re + (i + s) * LANES, *yi = im + (i + s) * LANES;                           \
            T *ur = gr + i * LANES, *ui = gi + i * LANES;                                       \
            T *vr = gr + (i + s) * LANES, *vi = gi + (i + s) * LANES;                           \
            for (int l = 0; l < LANES; l++) {                                                   \
                T pr = xr[l], pi = xi[l], qr = yr[l], qi = yi[l];                               \
                T cr = ur[l], ci = ui[l], dr = vr[l], di = vi[l];                               \
                acc[0][l] += cr * pr + ci * pi;                                                 \
                acc[1][l] += ci * pr - cr * pi;                                                 \
                acc[2][l] += cr * qr + ci * qi;                                                 \
                acc[3][l] += ci * qr - cr * qi;                                                 \
                acc[4][l] += dr * pr + di * pi;                                                 \
                acc[5][l] += di * pr - dr * pi;                                                 \
                acc[6][l] += dr * qr + di * qi;                                                 \
                acc[7][l] += di * qr - dr * qi;                                                 \
                MIX_LANE(l, pr, pi, qr, qi, xr, xi, yr, yi);                                    \
                MIX_LANE(l, cr, ci, dr, di, ur, ui, vr, vi);                                    \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int k = 0; k < 8; k++)                                                                 \
        for (int l = 0; l < LANES; l++) S[k * LANES + l] += acc[k][l];                          \
}                                                                                               \
                                                                                                \
/* One layer (matrix ms[q] on every qubit q) on a state larger than the cache, in two passes:  \
   the low qubits' gates tile by tile (2**BLOCK_BITS rows), then the high qubits' gates on      \
   sub-tiles (see subtile) copied into (br, bi). Gates on different qubits commute: the order  \
   is free. */                                                                                  \
static void layer_blocked_##SUFFIX(T *re, T *im, int n, const T *ms, T *br, T *bi) {           \
    int64_t tile = (int64_t)1 << BLOCK_BITS, N = (int64_t)1 << n;                               \
    int h = n - BLOCK_BITS;                                                                     \
    int64_t high = (int64_t)1 << h, width = tile >> h;                                          \
    for (int64_t t = 0; t < N; t += tile)                                                       \
        for (int q = h; q < n; q++)                                                             \
            mix_##SUFFIX(re + t * LANES, im + t * LANES, tile, (int64_t)1 << (n - 1 - q), ms + q * 8 * LANES);\
    size_t row = LANES * sizeof(T);                                                             \
    for (int64_t c = 0; c < tile; c += width) {                                                 \
        subtile((char *)re, (char *)br, BLOCK_BITS, high, width, c, row, 1);                    \
        subtile((char *)im, (char *)bi, BLOCK_BITS, high, width, c, row, 1);                    \
        for (int q = 0; q < h; q++)                                                             \
            mix_##SUFFIX(br, bi, tile, ((int64_t)1 << (h - 1 - q)) * width, ms + q * 8 * LANES);\
        subtile((char *)re, (char *)br, BLOCK_BITS, high, width, c, row, 0);                    \
        subtile((char *)im, (char *)bi, BLOCK_BITS, high, width, c, row, 0);                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
void fused_forward_##SUFFIX(const T *psi, int64_t psi_stride, const T *mats, int64_t mats_stride,\
                            const int32_t *perm, const uint8_t *has_perm, T *out, int64_t batch,\
                            int n, int layers, int threads) {                                  \
    int64_t N = (int64_t)1 << n, chunks = (batch + LANES - 1) / LANES;                          \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        T *re = lane_buffer(N * LANES, sizeof(T)), *im = lane_buffer(N * LANES, sizeof(T));     \
        T *re2 = lane_buffer(N * LANES, sizeof(T)), *im2 = lane_buffer(N * LANES, sizeof(T));   \
        int blocked = n >= BLOCKED_FROM;                                                           \
        T *ms = lane_buffer(n * 8 * LANES, sizeof(T));                                          \
        T *br = blocked ? lane_buffer(LANES << BLOCK_BITS, sizeof(T)) : NULL;                   \
        T *bi = blocked ? lane_buffer(LANES << BLOCK_BITS, sizeof(T)) : NULL;                   \
        _Pragma("omp for schedule(dynamic, 1)")                                                \
        for (int64_t c = 0; c < chunks; c++) {                                                  \
            int64_t first = c * LANES, count = batch - first < LANES ? batch - first : LANES;   \
            if (psi_stride) load_##SUFFIX(psi, psi_stride, first, count, N, re, im);            \
            else load_##SUFFIX(psi, 0, 0, 1, N, re, im);                                        \
            for (int layer = 0; layer < layers; layer++) {                                      \
                for (int q = 0; q < n; q++)                                                     \
                    matrix_##SUFFIX(mats, mats_stride, mats_stride ? first : 0, mats_stride ? count : 1,\
                                    (int64_t)(layer * n + q) * 8, 0, ms + q * 8 * LANES);       \
                if (blocked) layer_blocked_##SUFFIX(re, im, n, ms, br, bi);                     \
                else                                                                            \
                    for (int q = 0; q < n; q++)                                                 \
                        mix_##SUFFIX(re, im, N, (int64_t)1 << (n - 1 - q), ms + q * 8 * LANES); \
                if (has_perm[layer]) {                                                          \
                    gather_##SUFFIX(re, re2, perm + layer * N, N);                              \
                    gather_##SUFFIX(im, im2, perm + layer * N, N);                              \
                    T *t = re; re = re2; re2 = t; t = im; im = im2; im2 = t;                    \
                }                                                                               \
            }                                                                                   \
            store_##SUFFIX(out, first, count, N, re, im);                                       \
        }                                                                                       \
        free(re); free(im); free(re2); free(im2); free(ms); free(br); free(bi);                 \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* The adjoint sweep of layer_blocked_ in exact reverse: the high qubits' gates on the copied   \
   sub-tiles, then the low qubits' gates tile by tile; S (n blocks of 8 x LANES) accumulates.   \
   b holds 4 sub-tile buffers. */                                                               \
static void layer_adjoint_blocked_##SUFFIX(T *re, T *im, T *gr, T *gi, int n, const T *ms, T *S, \
                                           T *const *b) {                                      \
    int64_t tile = (int64_t)1 << BLOCK_BITS, N = (int64_t)1 << n;                               \
    int h = n - BLOCK_BITS;                                                                     \
    int64_t high = (int64_t)1 << h, width = tile >> h;                                          \
    T *arrays[4] = {re, im, gr, gi};                                                            \
    size_t row = LANES * sizeof(T);                                                             \
    for (int64_t c = 0; c < tile; c += width) {                                                 \
        for (int a = 0; a < 4; a++)                                                             \
            subtile((char *)arrays[a], (char *)b[a], BLOCK_BITS, high, width, c, row, 1);       \
        for (int q = h - 1; q >= 0; q--)                                                        \
            adjoint_step_##SUFFIX(b[0], b[1], b[2], b[3], tile, ((int64_t)1 << (h - 1 - q)) * width,\
                                  ms + q * 8 * LANES, S + q * 8 * LANES);                       \
        for (int a = 0; a < 4; a++)                                                             \
            subtile((char *)arrays[a], (char *)b[a], BLOCK_BITS, high, width, c, row, 0);       \
    }                                                                                           \
    for (int64_t t = 0; t < N; t += tile)                                                       \
        for (int q = n - 1; q >= h; q--)                                                        \
            adjoint_step_##SUFFIX(re + t * LANES, im + t * LANES, gr + t * LANES, gi + t * LANES, tile,\
                                  (int64_t)1 << (n - 1 - q), ms + q * 8 * LANES, S + q * 8 * LANES);\
}                                                                                               \
                                                                                                \
/* Adjoint backward: from the output states and dL/d(output), un-compute both gate by gate;  \
   writes S (see adjoint_step_) per sample, layer and qubit into grad_mats (B, L, n, 2, 2) and     \
   dL/d(input) into grad_psi (B, N). */                                                         \
void fused_backward_##SUFFIX(const T *out, const T *grad, const T *mats, int64_t mats_stride, \
                             const int32_t *inverse, const uint8_t *has_perm, T *grad_mats,    \
                             T *grad_psi, int64_t batch, int n, int layers, int threads) {     \
    int64_t N = (int64_t)1 << n, chunks = (batch + LANES - 1) / LANES;                          \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        T *re = lane_buffer(N * LANES, sizeof(T)), *im = lane_buffer(N * LANES, sizeof(T));     \
        T *gr = lane_buffer(N * LANES, sizeof(T)), *gi = lane_buffer(N * LANES, sizeof(T));     \
        T *tmp = lane_buffer(N * LANES, sizeof(T));                                             \
        int blocked = n >= BLOCKED_FROM;                                                           \
        T *ms = lane_buffer(n * 8 * LANES, sizeof(T)), *S = lane_buffer(n * 8 * LANES, sizeof(T));\
        T *b[4] = {NULL, NULL, NULL, NULL};                                                     \
        for (int a = 0; blocked && a < 4; a++) b[a] = lane_buffer(LANES << BLOCK_BITS, sizeof(T));\
        _Pragma("omp for schedule(dynamic, 1)")                                                \
        for (int64_t c = 0; c < chunks; c++) {                                                  \
            int64_t first = c * LANES, count = batch - first < LANES ? batch - first : LANES;   \
            load_##SUFFIX(out, 2 * N, first, count, N, re, im);                                 \
            load_##SUFFIX(grad, 2 * N, first, count, N, gr, gi);                                \
            for (int layer = layers - 1; layer >= 0; layer--) {                                 \
                if (has_perm[layer]) {                                                          \
                    T *arrays[4] = {re, im, gr, gi};                                            \
                    for (int a = 0; a < 4; a++) {                                               \
                        gather_##SUFFIX(arrays[a], tmp, inverse + layer * N, N);                \
                        memcpy(arrays[a], tmp, N * LANES * sizeof(T));                          \
                    }                                                                           \
                }                                                                               \
                for (int q = 0; q < n; q++)                                                     \
                    matrix_##SUFFIX(mats, mats_stride, mats_stride ? first : 0, mats_stride ? count : 1,\
                                    (int64_t)(layer * n + q) * 8, 1, ms + q * 8 * LANES);       \
                memset(S, 0, n * 8 * LANES * sizeof(T));                                        \
                if (blocked) layer_adjoint_blocked_##SUFFIX(re, im, gr, gi, n, ms, S, b);       \
                else                                                                            \
                    for (int q = n - 1; q >= 0; q--)                                            \
                        adjoint_step_##SUFFIX(re, im, gr, gi, N, (int64_t)1 << (n - 1 - q),     \
                                              ms + q * 8 * LANES, S + q * 8 * LANES);           \
                for (int q = 0; q < n; q++)                                                     \
                    for (int l = 0; l < count; l++) {                                           \
                        T *d = grad_mats + (first + l) * (int64_t)layers * n * 8 + (int64_t)(layer * n + q) * 8;\
                        for (int k = 0; k < 8; k++) d[k] = S[(q * 8 + k) * LANES + l];          \
                    }                                                                           \
            }                                                                                   \
            store_##SUFFIX(grad_psi, first, count, N, gr, gi);                                  \
        }                                                                                       \
        free(re); free(im); free(gr); free(gi); free(tmp); free(ms); free(S);                   \
        for (int a = 0; a < 4; a++) free(b[a]);                                                 \
    }                                                                                           \
}

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)

/* One large state, forward only: the same layered programs on a single state of n >= 8 qubits.
 * The state is split into re and im arrays and viewed as rows of LANES amplitudes: the low 4
 * qubits are the lanes, the others index rows. A layer then takes three cache-friendly passes:
 *   A. tiles of 2**r consecutive rows: the 4 lane qubits (lane permutes in registers) and the
 *      r lowest row qubits;
 *   B. strided sub-tiles (all values of the remaining high row bits, a few adjacent rows): the
 *      high row qubits;
 *   C. the layer's permutation, a gather into a second pair of arrays.
 * mats (L, n, 2, 2) is shared by the whole state; perms[l] is layer l's gather index (int32,
 * N entries) or NULL.
 */
#define LANE_GATE(T, S, xr, xi, A)                                                              \
    {                                                                                           \
        T pr_[LANES], pi_[LANES];                                                               \
        for (int l = 0; l < LANES; l++) { pr_[l] = xr[l ^ S]; pi_[l] = xi[l ^ S]; }             \
        for (int l = 0; l < LANES; l++) {                                                       \
            T nr = A[0][l] * xr[l] - A[1][l] * xi[l] + A[2][l] * pr_[l] - A[3][l] * pi_[l];     \
            T ni = A[0][l] * xi[l] + A[1][l] * xr[l] + A[2][l] * pi_[l] + A[3][l] * pr_[l];     \
            xr[l] = nr; xi[l] = ni;                                                             \
        }                                                                                       \
    }

#define DEFINE_STATE_KERNEL(T, SUFFIX)                                                          \
void state_forward_##SUFFIX(const T *psi, const T *mats, const int32_t *const *perms,         \
                            T *out, int n, int layers, int threads) {                          \
    int64_t N = (int64_t)1 << n, rows = N / LANES;                                              \
    int row_bits = n - 4, r = (row_bits + 1) / 2, h = row_bits - r;                             \
    int64_t tile = (int64_t)1 << r, high = (int64_t)1 << h;                                     \
    int64_t width = (int64_t)4096 >> h; /* adjacent rows per sub-tile: 4096 rows in all */      \
    if (width < 1) width = 1;                                                                   \
    if (width > tile) width = tile;                                                             \
    T *re = lane_buffer(N, sizeof(T)), *im = lane_buffer(N, sizeof(T));                         \
    T *re2 = lane_buffer(N, sizeof(T)), *im2 = lane_buffer(N, sizeof(T));                       \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                          \
    for (int64_t i = 0; i < N; i++) { re[i] = psi[2 * i]; im[i] = psi[2 * i + 1]; }             \
    for (int layer = 0; layer < layers; layer++) {                                              \
        const T *M = mats + (int64_t)layer * n * 8;                                             \
        /* lane coefficients: out_l = A_l x_l + B_l x_(l^s), A/B from the qubit's matrix */     \
        T lane[4][4][LANES];                                                                    \
        for (int b = 0; b < 4; b++) {                                                           \
            const T *m = M + (int64_t)(n - 1 - b) * 8;                                          \
            for (int l = 0; l < LANES; l++) {                                                   \
                int hi = (l >> b) & 1;                                                          \
                lane[b][0][l] = hi ? m[6] : m[0]; lane[b][1][l] = hi ? m[7] : m[1];             \
                lane[b][2][l] = hi ? m[4] : m[2]; lane[b][3][l] = hi ? m[5] : m[3];             \
            }                                                                                   \
        }                                                                                       \
        _Pragma("omp parallel num_threads(threads)")                                           \
        {                                                                                       \
            T m[8 * LANES];                                                                     \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t t = 0; t < rows / tile; t++) {                                         \
                T *tr = re + t * tile * LANES, *ti = im + t * tile * LANES;                     \
                for (int64_t row = 0; row < tile; row++) {                                      \
                    T *xr = tr + row * LANES, *xi = ti + row * LANES;                           \
                    T vr[LANES], vi[LANES];                                                     \
                    memcpy(vr, xr, sizeof(vr)); memcpy(vi, xi, sizeof(vi));                     \
                    LANE_GATE(T, 1, vr, vi, lane[0]);                                           \
                    LANE_GATE(T, 2, vr, vi, lane[1]);                                           \
                    LANE_GATE(T, 4, vr, vi, lane[2]);                                           \
                    LANE_GATE(T, 8, vr, vi, lane[3]);                                           \
                    memcpy(xr, vr, sizeof(vr)); memcpy(xi, vi, sizeof(vi));                     \
                }                                                                               \
                for (int b = 0; b < r; b++) {                                                   \
                    matrix_##SUFFIX(M, 0, 0, 1, (int64_t)(n - 5 - b) * 8, 0, m);                \
                    mix_##SUFFIX(tr, ti, tile, (int64_t)1 << b, m);                             \
                }                                                                               \
            }                                                                                   \
            T *br = lane_buffer(high * width * LANES, sizeof(T));                               \
            T *bi = lane_buffer(high * width * LANES, sizeof(T));                               \
            size_t row = LANES * sizeof(T);                                                     \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t c = 0; c < tile; c += width) {                                         \
                subtile((char *)re, (char *)br, r, high, width, c, row, 1);                     \
                subtile((char *)im, (char *)bi, r, high, width, c, row, 1);                     \
                for (int b = 0; b < h; b++) {                                                   \
                    matrix_##SUFFIX(M, 0, 0, 1, (int64_t)(n - 5 - r - b) * 8, 0, m);            \
                    mix_##SUFFIX(br, bi, high * width, ((int64_t)1 << b) * width, m);           \
                }                                                                               \
                subtile((char *)re, (char *)br, r, high, width, c, row, 0);                     \
                subtile((char *)im, (char *)bi, r, high, width, c, row, 0);                     \
            }                                                                                   \
            free(br); free(bi);                                                                 \
        }                                                                                       \
        if (perms[layer]) {                                                                     \
            const int32_t *index = perms[layer];                                                \
            _Pragma("omp parallel for num_threads(threads) schedule(static)")                  \
            for (int64_t i = 0; i < N; i++) { re2[i] = re[index[i]]; im2[i] = im[index[i]]; }   \
            T *swap = re; re = re2; re2 = swap; swap = im; im = im2; im2 = swap;                \
        }                                                                                       \
    }                                                                                           \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                          \
    for (int64_t i = 0; i < N; i++) { out[2 * i] = re[i]; out[2 * i + 1] = im[i]; }             \
    free(re); free(im); free(re2); free(im2);                                                   \
}

DEFINE_STATE_KERNEL(float, f32)
DEFINE_STATE_KERNEL(double, f64)
