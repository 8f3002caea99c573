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
 *         or, with a negative mats_stride, in lane blocks: (blocks, L, n, 8, LANES) reals, row k
 *         re/im of m00..m11 and lane l sample block * LANES + l, -mats_stride reals per block (as
 *         chains.c writes them); grad_mats then comes in the same layout
 *   perm  (L, N) int32           the gather index of each layer (used where has_perm[l])
 *   snap  per block of LANES samples and layer, the layer's output state (re plane, im plane)
 *         in the lane layout, written by the forward and read by the backward (or NULL)
 * Qubit 0 is the most significant bit of an index: qubit q of n is index bit n - 1 - q, the rule
 * of hybridq/qubit_order.py (bit_position), copied here because C cannot import it.
 *
 * The backward needs, per layer and qubit, S = sum over amplitude pairs of lam_r conj(psi_c)
 * (lam the adjoint state); dL/dM = S M. Gates on different qubits commute, so every qubit's S
 * can be taken at the layer's output: from the kept state (snap) no state is un-computed.
 * From |0...0> (zero_start) the first layer's output is a product state, built and
 * differentiated directly.
 */
#include "lanes.h"

/* The steps between a layer's one-qubit gates and its permutation (steps.h), NULL when none. */
#define STEP_INTS 16
#define MAX_STEP_QUBITS 6
#define MAX_STEP_CONTROLS 4
enum { STEP_DIAGONAL = 0, STEP_DENSE = 1, STEP_PERMUTATION = 2 };
typedef struct {
    const int32_t *steps;       /* STEP_INTS ints per step (see steps.h) */
    const int32_t *layer_steps; /* layers + 1 ints: layer l's steps are layer_steps[l] .. layer_steps[l + 1] - 1 */
    const void *data;           /* the steps' data, complex rows of stride reals per sample (0: shared) */
    int64_t stride;
    const int32_t *perms;       /* (K, N) gather indices of the permutation steps ... */
    const int32_t *inverses;    /* ... and their inverses */
    void *grad;                 /* (B, grad_stride reals): the data's gradient (backward; rows of unwanted steps untouched) */
    int64_t grad_stride;
    int64_t buffer;             /* reals of each of the buffers e and acc a thread needs (steps.h) */
    void *shared;               /* room for the one-lane tables of shared diagonal runs (2 N reals each) */
} Steps;

static int layer_has_steps(const Steps *st, int layer) {
    return st && st->layer_steps[layer + 1] > st->layer_steps[layer];
}

/* States of BLOCKED_FROM qubits or more are cache-blocked in tiles of 2**BLOCK_BITS amplitudes
   (x 16 lanes); measured on 2 cores: blocking pays from 15 qubits (16 qubits, W1 kernels: 1.06 -> 0.94 s), not at 12-14. */
#define BLOCK_BITS 11
/* Gates on qubits whose index bit is below L1_BITS run piece by piece on 2**L1_BITS amplitudes
   (x 16 lanes x re, im: 32 KiB, in the L1 cache) rather than as sweeps over a whole block
   (one core, 10 qubits: 3.75 -> 4.67 G 16-wide multiply-adds per second). */
#define L1_BITS 8
/* The most dense steps (steps.h) whose data a run holds at once (see dense_run). */
#define DENSE_RUN 32
#define BLOCKED_FROM 15

#define T float
#define T_INDEX int32_t
#define SUFFIX f32
#include "steps.h"
#undef T
#undef SUFFIX
#undef T_INDEX
#define T double
#define T_INDEX int64_t
#define SUFFIX f64
#include "steps.h"
#undef T
#undef SUFFIX
#undef T_INDEX


#if defined(__AVX512F__)
#include <immintrin.h>
/* r[k][j] -> r[j][k] for 16 rows of 16 floats, in registers. */
static inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int k = 0; k < 16; k += 2) { /* lane j of t[k]: rows k, k + 1 at columns 4j, 4j + 1 */
        t[k] = _mm512_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm512_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 16; k += 4) { /* lane j of u[k + c]: rows k .. k + 3 at column 4j + c */
        u[k] = _mm512_shuffle_ps(t[k], t[k + 2], 0x44);
        u[k + 1] = _mm512_shuffle_ps(t[k], t[k + 2], 0xEE);
        u[k + 2] = _mm512_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        u[k + 3] = _mm512_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) { /* row 4j + c: lane g of u[4g + c] */
        __m512 v = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        __m512 w = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(v, w, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v, w, 0xDD);
        r[4 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
}

/* load_ and store_ of complex64 states 8 amplitudes at a time: 16 samples x (re, im) of 8
   amplitudes is one 16 x 16 transpose. Return how many amplitudes they moved. */
static int64_t load_tiles_f32(const float *src, int64_t stride, int64_t first, int64_t count, int64_t N,
                              float *re, float *im) {
    int64_t i0 = 0;
    for (; i0 + 8 <= N; i0 += 8) {
        __m512 r[16];
        for (int l = 0; l < 16; l++) r[l] = _mm512_loadu_ps(src + (first + (l < count ? l : count - 1)) * stride + 2 * i0);
        transpose16(r);
        for (int j = 0; j < 8; j++) {
            _mm512_storeu_ps(re + (i0 + j) * 16, r[2 * j]);
            _mm512_storeu_ps(im + (i0 + j) * 16, r[2 * j + 1]);
        }
    }
    return i0;
}

static int64_t store_tiles_f32(float *dst, int64_t first, int64_t count, int64_t N, const float *re, const float *im) {
    int64_t i0 = 0;
    for (; i0 + 8 <= N; i0 += 8) {
        __m512 r[16];
        for (int j = 0; j < 8; j++) {
            r[2 * j] = _mm512_loadu_ps(re + (i0 + j) * 16);
            r[2 * j + 1] = _mm512_loadu_ps(im + (i0 + j) * 16);
        }
        transpose16(r);
        for (int l = 0; l < count; l++) _mm512_storeu_ps(dst + (first + l) * 2 * N + 2 * i0, r[l]);
    }
    return i0;
}
#define LOAD_TILES_f32 load_tiles_f32
#define STORE_TILES_f32 store_tiles_f32
#else
#define LOAD_TILES_f32(src, stride, first, count, N, re, im) 0
#define STORE_TILES_f32(dst, first, count, N, re, im) 0
#endif
#define LOAD_TILES_f64(src, stride, first, count, N, re, im) 0
#define STORE_TILES_f64(dst, first, count, N, re, im) 0

#if defined(__AVX512F__)
/* x = m00 p + m01 q, y = m10 p + m11 q on one register of 16 lanes; m: the 8 rows of matrix_. */
static inline void mix_registers(const __m512 *m, __m512 *pr, __m512 *pi, __m512 *qr, __m512 *qi) {
    __m512 xr = _mm512_fnmadd_ps(m[3], *qi, _mm512_fmadd_ps(m[2], *qr, _mm512_fnmadd_ps(m[1], *pi, _mm512_mul_ps(m[0], *pr))));
    __m512 xi = _mm512_fmadd_ps(m[3], *qr, _mm512_fmadd_ps(m[2], *qi, _mm512_fmadd_ps(m[1], *pr, _mm512_mul_ps(m[0], *pi))));
    __m512 yr = _mm512_fnmadd_ps(m[7], *qi, _mm512_fmadd_ps(m[6], *qr, _mm512_fnmadd_ps(m[5], *pi, _mm512_mul_ps(m[4], *pr))));
    __m512 yi = _mm512_fmadd_ps(m[7], *qr, _mm512_fmadd_ps(m[6], *qi, _mm512_fmadd_ps(m[5], *pr, _mm512_mul_ps(m[4], *pi))));
    *pr = xr; *pi = xi; *qr = yr; *qi = yi;
}

/* Two gates, on bits s1 < s2 (rows), in one pass: 4 rows loaded, 32 multiply-adds, 4 rows
   stored. The compiler's one-gate loop keeps the FMA units ~70% busy in L1; this, all of it. */
static int mix_pair_avx512(float *re, float *im, int64_t N, int64_t s1, int64_t s2, const float *m1,
                           const float *m2) {
    __m512 a[8], b[8];
    for (int k = 0; k < 8; k++) { a[k] = _mm512_loadu_ps(m1 + 16 * k); b[k] = _mm512_loadu_ps(m2 + 16 * k); }
    for (int64_t base2 = 0; base2 < N; base2 += 2 * s2)
        for (int64_t base1 = base2; base1 < base2 + s2; base1 += 2 * s1)
            for (int64_t i = base1; i < base1 + s1; i++) {
                float *r[4] = {re + 16 * i, re + 16 * (i + s1), re + 16 * (i + s2), re + 16 * (i + s1 + s2)};
                float *m[4] = {im + 16 * i, im + 16 * (i + s1), im + 16 * (i + s2), im + 16 * (i + s1 + s2)};
                __m512 xr[4], xi[4];
                for (int k = 0; k < 4; k++) { xr[k] = _mm512_loadu_ps(r[k]); xi[k] = _mm512_loadu_ps(m[k]); }
                mix_registers(a, &xr[0], &xi[0], &xr[1], &xi[1]);
                mix_registers(a, &xr[2], &xi[2], &xr[3], &xi[3]);
                mix_registers(b, &xr[0], &xi[0], &xr[2], &xi[2]);
                mix_registers(b, &xr[1], &xi[1], &xr[3], &xi[3]);
                for (int k = 0; k < 4; k++) { _mm512_storeu_ps(r[k], xr[k]); _mm512_storeu_ps(m[k], xi[k]); }
            }
    return 1;
}
#define MIX_PAIR_f32(re, im, N, s1, s2, m1, m2) mix_pair_avx512(re, im, N, s1, s2, m1, m2)
/* acc (6 registers) += S[0][0], S[0][1], S[1][0] terms (re, im each) of the state pair p, q and
   the adjoint pair c, d: lam_r conj(psi_c), as TRANSITION_SUMS. */
static inline void transition_registers(__m512 *acc, __m512 pr, __m512 pi, __m512 qr, __m512 qi, __m512 cr,
                                        __m512 ci, __m512 dr, __m512 di) {
    acc[0] = _mm512_fmadd_ps(cr, pr, _mm512_fmadd_ps(ci, pi, acc[0]));
    acc[1] = _mm512_fmadd_ps(ci, pr, _mm512_fnmadd_ps(cr, pi, acc[1]));
    acc[2] = _mm512_fmadd_ps(cr, qr, _mm512_fmadd_ps(ci, qi, acc[2]));
    acc[3] = _mm512_fmadd_ps(ci, qr, _mm512_fnmadd_ps(cr, qi, acc[3]));
    acc[4] = _mm512_fmadd_ps(dr, pr, _mm512_fmadd_ps(di, pi, acc[4]));
    acc[5] = _mm512_fmadd_ps(di, pr, _mm512_fnmadd_ps(dr, pi, acc[5]));
}

/* The transition sums of the qubits of bits s1 < s2 in one pass (see transition_): 16 loads
   for 48 multiply-adds instead of 8 for 12. */
static int transition_pair_avx512(const float *pr_, const float *pi_, const float *gr, const float *gi, int64_t N,
                                  int64_t s1, int64_t s2, float *S1, float *S2) {
    __m512 a[6], b[6];
    for (int k = 0; k < 6; k++) a[k] = b[k] = _mm512_setzero_ps();
    for (int64_t base2 = 0; base2 < N; base2 += 2 * s2)
        for (int64_t base1 = base2; base1 < base2 + s2; base1 += 2 * s1)
            for (int64_t i = base1; i < base1 + s1; i++) {
                int64_t rows[4] = {i, i + s1, i + s2, i + s1 + s2};
                __m512 xr[4], xi[4], ur[4], ui[4];
                for (int k = 0; k < 4; k++) {
                    xr[k] = _mm512_loadu_ps(pr_ + 16 * rows[k]); xi[k] = _mm512_loadu_ps(pi_ + 16 * rows[k]);
                    ur[k] = _mm512_loadu_ps(gr + 16 * rows[k]); ui[k] = _mm512_loadu_ps(gi + 16 * rows[k]);
                }
                transition_registers(a, xr[0], xi[0], xr[1], xi[1], ur[0], ui[0], ur[1], ui[1]);
                transition_registers(a, xr[2], xi[2], xr[3], xi[3], ur[2], ui[2], ur[3], ui[3]);
                transition_registers(b, xr[0], xi[0], xr[2], xi[2], ur[0], ui[0], ur[2], ui[2]);
                transition_registers(b, xr[1], xi[1], xr[3], xi[3], ur[1], ui[1], ur[3], ui[3]);
            }
    for (int k = 0; k < 6; k++) {
        _mm512_storeu_ps(S1 + 16 * k, _mm512_add_ps(_mm512_loadu_ps(S1 + 16 * k), a[k]));
        _mm512_storeu_ps(S2 + 16 * k, _mm512_add_ps(_mm512_loadu_ps(S2 + 16 * k), b[k]));
    }
    return 1;
}
#define TRANSITION_PAIR_f32(pr, pi, gr, gi, N, s1, s2, S1, S2) transition_pair_avx512(pr, pi, gr, gi, N, s1, s2, S1, S2)
#else
#define MIX_PAIR_f32(re, im, N, s1, s2, m1, m2) 0
#define TRANSITION_PAIR_f32(pr, pi, gr, gi, N, s1, s2, S1, S2) 0
#endif
#define MIX_PAIR_f64(re, im, N, s1, s2, m1, m2) 0
#define TRANSITION_PAIR_f64(pr, pi, gr, gi, N, s1, s2, S1, S2) 0

/* Lane l's terms of S[0][0], S[0][1], S[1][0] (re, im each) for the state pair (p, q) and the
   adjoint pair (c, d): lam_r conj(psi_c). */
#define TRANSITION_SUMS(acc, l, pr, pi, qr, qi, cr, ci, dr, di)                                 \
    acc[0][l] += cr * pr + ci * pi;                                                             \
    acc[1][l] += ci * pr - cr * pi;                                                             \
    acc[2][l] += cr * qr + ci * qi;                                                             \
    acc[3][l] += ci * qr - cr * qi;                                                             \
    acc[4][l] += dr * pr + di * pi;                                                             \
    acc[5][l] += di * pr - dr * pi

/* Kept states: the outputs of layers kept_from .. layers - 2, per block of LANES samples (the  \
   last layer's output is the kernels' output; from |0...0> the first layer's, a product state,  \
   is not read back). KEPT_SLOT is layer l's (NULL when not kept). */
#define KEPT_LAYERS(layers, kept_from) ((layers) - 1 - (kept_from) > 0 ? (layers) - 1 - (kept_from) : 0)
#define KEPT_SLOT(kept, l, layers, kept_from, NL)                                               \
    ((kept) && (l) >= (kept_from) && (l) <= (layers) - 2 ? (kept) + ((l) - (kept_from)) * 2 * (NL) : NULL)

/* Gates on qubits whose bit is below the L1 piece run piece by piece: the piece of N amplitudes,
   and the first qubit from first on whose bit lies below it. */
static int64_t l1_piece(int64_t N) { return N < ((int64_t)1 << L1_BITS) ? N : (int64_t)1 << L1_BITS; }

static int first_in_piece(int n, int first, int64_t piece) {
    while (first < n && ((int64_t)1 << (n - 1 - first)) >= piece) first++;
    return first;
}

#define DEFINE_KERNELS(T, SUFFIX)                                                               \
                                                                                                \
/* Load samples first .. first+count-1 (lanes past count repeat the last sample). */           \
static void load_##SUFFIX(const T *src, int64_t stride, int64_t first, int64_t count,          \
                          int64_t N, T *re, T *im) {                                           \
    int64_t done = LOAD_TILES_##SUFFIX(src, stride, first, count, N, re, im);                   \
    for (int64_t i0 = done; i0 < N; i0 += LANES) /* LANES x LANES pieces: rows stay in L1 */   \
        for (int l = 0; l < LANES; l++) {                                                       \
            const T *s = src + (first + (l < count ? l : count - 1)) * stride;                  \
            for (int64_t i = i0; i < i0 + LANES && i < N; i++) {                                \
                re[i * LANES + l] = s[2 * i];                                                   \
                im[i * LANES + l] = s[2 * i + 1];                                               \
            }                                                                                   \
        }                                                                                       \
}                                                                                               \
                                                                                                \
static void store_##SUFFIX(T *dst, int64_t first, int64_t count, int64_t N,                    \
                           const T *re, const T *im) {                                         \
    int64_t done = STORE_TILES_##SUFFIX(dst, first, count, N, re, im);                          \
    for (int64_t i0 = done; i0 < N; i0 += LANES)                                                \
        for (int l = 0; l < count; l++) {                                                       \
            T *d = dst + (first + l) * 2 * N;                                                   \
            for (int64_t i = i0; i < i0 + LANES && i < N; i++) {                                \
                d[2 * i] = re[i * LANES + l];                                                   \
                d[2 * i + 1] = im[i * LANES + l];                                               \
            }                                                                                   \
        }                                                                                       \
}                                                                                               \
                                                                                                \
/* The gates ms1 on bit s1 and ms2 on bit s2 (s1 < s2): in one pass where a kernel for it built \
   (see mix_pair_avx512), else one after the other. */                                          \
static void mix_pair_##SUFFIX(T *re, T *im, int64_t N, int64_t s1, int64_t s2, const T *m1,     \
                              const T *m2) {                                                   \
    if (!MIX_PAIR_##SUFFIX(re, im, N, s1, s2, m1, m2)) {                                        \
        mix_##SUFFIX(re, im, N, s1, m1);                                                        \
        mix_##SUFFIX(re, im, N, s2, m2);                                                        \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* ms[q] on the qubits first <= q < last, two per pass; qubit q's partner rows are              \
   unit << (n - 1 - q) apart. */                                                                \
static void mix_range_##SUFFIX(T *re, T *im, int64_t N, int n, int first, int last, int64_t unit,\
                               const T *ms) {                                                  \
    int q = first;                                                                              \
    for (; q + 1 < last; q += 2)                                                                \
        mix_pair_##SUFFIX(re, im, N, unit << (n - 2 - q), unit << (n - 1 - q),                  \
                          ms + (q + 1) * 8 * LANES, ms + q * 8 * LANES);                        \
    if (q < last) mix_##SUFFIX(re, im, N, unit << (n - 1 - q), ms + q * 8 * LANES);             \
}                                                                                               \
                                                                                                \
static void gather_##SUFFIX(const T *restrict src, T *restrict dst, const int32_t *index,      \
                            int64_t N) {                                                       \
    for (int64_t i = 0; i < N; i++) memcpy(dst + i * LANES, src + (int64_t)index[i] * LANES,   \
                                           LANES * sizeof(T));                                  \
}                                                                                               \
                                                                                                \
/* Rows t .. t + count - 1 of (re, im) from (fr, fi): gathered through index, copied where     \
   index is NULL; nothing when fr is NULL. */                                                   \
static void gather_piece_##SUFFIX(const T *fr, const T *fi, const int32_t *index, T *re, T *im, \
                                  int64_t t, int64_t count) {                                  \
    if (!fr) return;                                                                            \
    if (!index) {                                                                               \
        memcpy(re + t * LANES, fr + t * LANES, count * LANES * sizeof(T));                      \
        memcpy(im + t * LANES, fi + t * LANES, count * LANES * sizeof(T));                      \
        return;                                                                                 \
    }                                                                                           \
    gather_##SUFFIX(fr, re + t * LANES, index + t, count);                                      \
    gather_##SUFFIX(fi, im + t * LANES, index + t, count);                                      \
}                                                                                               \
                                                                                                \
/* One gate of the adjoint sweep in one pass over the pairs of bit s: S[r][c] += sum over pairs \
   of lam_r conj(psi_c) (psi, lam after the gate) for (r, c) = (0, 0), (0, 1), (1, 0) (see      \
   finish_transitions for (1, 1)), then psi and lam un-computed by the adjoint matrix m (see     \
   matrix_ with adjoint set). */                                                                \
static void adjoint_step_##SUFFIX(T *restrict re, T *restrict im, T *restrict gr,              \
                                  T *restrict gi, int64_t N, int64_t s, const T *m, T *S) {     \
    T acc[6][LANES];                                                                            \
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
                TRANSITION_SUMS(acc, l, pr, pi, qr, qi, cr, ci, dr, di);                        \
                MIX_LANE(l, pr, pi, qr, qi, xr, xi, yr, yi);                                    \
                MIX_LANE(l, cr, ci, dr, di, ur, ui, vr, vi);                                    \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int k = 0; k < 6; k++)                                                                 \
        for (int l = 0; l < LANES; l++) S[k * LANES + l] += acc[k][l];                          \
}                                                                                               \
                                                                                                \
/* ms[q] on qubits first <= q < n (index bit n - 1 - q) of N amplitudes: the low bits' gates   \
   piece by piece (see L1_BITS), the others as sweeps. With a source (fr, fi non-NULL), each    \
   piece is first gathered, row i from row index[i] of the source (copied where index is NULL): \
   a permutation (or a copy) before the gates costs no pass of its own. */                      \
static void mix_qubits_##SUFFIX(T *re, T *im, int64_t N, int n, int first, const T *ms,         \
                                const T *fr, const T *fi, const int32_t *index) {              \
    int64_t piece = l1_piece(N);                                                                \
    int split = first_in_piece(n, first, piece);                                                \
    for (int64_t t = 0; t < N; t += piece) {                                                    \
        gather_piece_##SUFFIX(fr, fi, index, re, im, t, piece);                                 \
        mix_range_##SUFFIX(re + t * LANES, im + t * LANES, piece, n, split, n, 1, ms);           \
    }                                                                                           \
    mix_range_##SUFFIX(re, im, N, n, first, split, 1, ms);                                      \
}                                                                                               \
                                                                                                \
/* Every qubit's <Z> of each lane's state (re, im) into z (rows of n; count rows written): per  \
   run of 16 amplitudes (all of them below 16), the sum and the sums over each of the 4 low     \
   bits set, then the high bits' sums from the runs' sums, those in double (a float sum of      \
   2**16 runs drifts). */                                                                       \
static void readout_z_##SUFFIX(const T *re, const T *im, int n, int64_t count, T *z) {          \
    int64_t N = (int64_t)1 << n, run = N < 16 ? N : 16;                                         \
    double total[LANES] = {0}, one[32][LANES] = {{0}}; /* one[bit]: P(index bit = 1) */        \
    for (int64_t i0 = 0; i0 < N; i0 += run) {                                                   \
        T p[16][LANES], sum[LANES] = {0}, bits[4][LANES] = {{0}};                               \
        for (int64_t j = 0; j < run; j++)                                                       \
            for (int l = 0; l < LANES; l++) {                                                   \
                T r = re[(i0 + j) * LANES + l], i = im[(i0 + j) * LANES + l];                   \
                p[j][l] = r * r + i * i;                                                        \
            }                                                                                   \
        if (run == 16)                                                                          \
            for (int j = 0; j < 16; j++) /* constant bounds: the bit tests fold away */        \
                for (int l = 0; l < LANES; l++) {                                               \
                    sum[l] += p[j][l];                                                          \
                    for (int b = 0; b < 4; b++) bits[b][l] += ((j >> b) & 1) ? p[j][l] : 0;     \
                }                                                                               \
        else                                                                                    \
            for (int64_t j = 0; j < run; j++)                                                   \
                for (int l = 0; l < LANES; l++) {                                               \
                    sum[l] += p[j][l];                                                          \
                    for (int b = 0; b < n; b++) bits[b][l] += ((j >> b) & 1) ? p[j][l] : 0;     \
                }                                                                               \
        for (int l = 0; l < LANES; l++) total[l] += sum[l];                                     \
        for (int b = 0; b < 4 && b < n; b++)                                                    \
            for (int l = 0; l < LANES; l++) one[b][l] += bits[b][l];                            \
        for (int b = 4; b < n; b++)                                                             \
            if ((i0 >> b) & 1)                                                                  \
                for (int l = 0; l < LANES; l++) one[b][l] += sum[l];                            \
    }                                                                                           \
    for (int l = 0; l < count; l++)                                                             \
        for (int q = 0; q < n; q++) z[l * n + q] = (T)(total[l] - 2 * one[n - 1 - q][l]);       \
}                                                                                               \
                                                                                                \
/* (gr, gi) = 2 f (re, im), or += when add, f(i) = sum_q g_q (1 - 2 bit_q(i)): the adjoint       \
   state of the loss sum_q g_q <Z_q> (g: rows of n for the count samples from first). f is      \
   built in the spare plane by doubling (an index with bit b set: the one without it minus      \
   2 g of b's qubit). */                                                                        \
static void readout_z_adjoint_##SUFFIX(const T *re, const T *im, T *gr, T *gi, int n,           \
                                       const T *g, int64_t count, T *f, int add) {             \
    int64_t N = (int64_t)1 << n;                                                                \
    for (int l = 0; l < LANES; l++) {                                                           \
        const T *gl = g + (l < count ? l : count - 1) * n;                                      \
        f[l] = 0;                                                                               \
        for (int q = 0; q < n; q++) f[l] += 2 * gl[q];                                          \
    }                                                                                           \
    for (int b = 0; b < n; b++) {                                                               \
        int64_t half = (int64_t)1 << b;                                                         \
        T d[LANES];                                                                             \
        for (int l = 0; l < LANES; l++) d[l] = 4 * g[(l < count ? l : count - 1) * n + n - 1 - b];\
        for (int64_t i = 0; i < half; i++)                                                      \
            for (int l = 0; l < LANES; l++) f[(half + i) * LANES + l] = f[i * LANES + l] - d[l];\
    }                                                                                           \
    for (int64_t i = 0; i < N * LANES; i++) {                                                   \
        gr[i] = (add ? gr[i] : 0) + f[i] * re[i];                                               \
        gi[i] = (add ? gi[i] : 0) + f[i] * im[i];                                               \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* Adds to c the overlap sum over amplitudes of lam conj(psi): the same before and after any    \
   gate that both states go through. */                                                         \
static void overlap_##SUFFIX(const T *pr_, const T *pi_, const T *gr, const T *gi, int64_t N,    \
                             T c[2][LANES]) {                                                   \
    for (int64_t i = 0; i < N * LANES; i += LANES)                                              \
        for (int l = 0; l < LANES; l++) {                                                       \
            c[0][l] += gr[i + l] * pr_[i + l] + gi[i + l] * pi_[i + l];                         \
            c[1][l] += gi[i + l] * pr_[i + l] - gr[i + l] * pi_[i + l];                         \
        }                                                                                       \
}                                                                                               \
                                                                                                \
/* S[1][1] of every qubit of a layer: the overlap c minus S[0][0]. */                           \
static void finish_transitions_##SUFFIX(T c[2][LANES], int n, T *S) {                           \
    for (int q = 0; q < n; q++)                                                                 \
        for (int l = 0; l < LANES; l++) {                                                       \
            S[(q * 8 + 6) * LANES + l] = c[0][l] - S[q * 8 * LANES + l];                        \
            S[(q * 8 + 7) * LANES + l] = c[1][l] - S[(q * 8 + 1) * LANES + l];                  \
        }                                                                                       \
}                                                                                               \
                                                                                                \
/* The transition sums of qubit bit s at a layer's output, from the stored state (pr, pi) and  \
   the adjoint state (gr, gi): S[r][c] = sum over pairs of lam_r conj(psi_c) for (r, c) = (0, 0), \
   (0, 1), (1, 0) added to S (see finish_transitions for (1, 1)). */                            \
static void transition_##SUFFIX(const T *restrict pr_, const T *restrict pi_, const T *restrict gr,\
                                const T *restrict gi, int64_t N, int64_t s, T *S) {             \
    T acc[6][LANES];                                                                            \
    memset(acc, 0, sizeof(acc));                                                                \
    for (int64_t base = 0; base < N; base += 2 * s) {                                           \
        for (int64_t i = base; i < base + s; i++) {                                             \
            const T *xr = pr_ + i * LANES, *xi = pi_ + i * LANES;                               \
            const T *yr = pr_ + (i + s) * LANES, *yi = pi_ + (i + s) * LANES;                   \
            const T *ur = gr + i * LANES, *ui = gi + i * LANES;                                 \
            const T *vr = gr + (i + s) * LANES, *vi = gi + (i + s) * LANES;                     \
            for (int l = 0; l < LANES; l++) {                                                   \
                T pr = xr[l], pi = xi[l], qr = yr[l], qi = yi[l];                               \
                T cr = ur[l], ci = ui[l], dr = vr[l], di = vi[l];                               \
                TRANSITION_SUMS(acc, l, pr, pi, qr, qi, cr, ci, dr, di);                        \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int k = 0; k < 6; k++)                                                                 \
        for (int l = 0; l < LANES; l++) S[k * LANES + l] += acc[k][l];                          \
}                                                                                               \
                                                                                                \
/* transition_ for the qubits first <= q < last (partner rows unit << (n - 1 - q) apart), two  \
   per pass where a kernel for it built. */                                                     \
static void transition_range_##SUFFIX(const T *pr_, const T *pi_, const T *gr, const T *gi,     \
                                      int64_t N, int n, int first, int last, int64_t unit, T *S) {\
    int q = first;                                                                              \
    for (; q + 1 < last; q += 2)                                                                \
        if (!TRANSITION_PAIR_##SUFFIX(pr_, pi_, gr, gi, N, unit << (n - 2 - q), unit << (n - 1 - q),\
                                      S + (q + 1) * 8 * LANES, S + q * 8 * LANES)) {            \
            transition_##SUFFIX(pr_, pi_, gr, gi, N, unit << (n - 1 - q), S + q * 8 * LANES);   \
            transition_##SUFFIX(pr_, pi_, gr, gi, N, unit << (n - 2 - q), S + (q + 1) * 8 * LANES);\
        }                                                                                       \
    if (q < last) transition_##SUFFIX(pr_, pi_, gr, gi, N, unit << (n - 1 - q), S + q * 8 * LANES);\
}                                                                                               \
                                                                                                \
/* transition_ for qubits first <= q < n of N amplitudes, the low bits piece by piece, with the  \
   overlap added to c (unless NULL). With a source (fr, fi, index non-NULL), each piece of the adjoint state  \
   is first gathered, row i from row index[i] of the source (see mix_qubits_). */               \
static void transition_qubits_##SUFFIX(const T *pr_, const T *pi_, T *gr, T *gi, int64_t N, int n,\
                                       int first, T *S, T (*c)[LANES], const T *fr, const T *fi,\
                                       const int32_t *index) {                                 \
    int64_t piece = l1_piece(N);                                                                \
    int split = first_in_piece(n, first, piece);                                                \
    for (int64_t t = 0; t < N; t += piece) {                                                    \
        gather_piece_##SUFFIX(fr, fi, index, gr, gi, t, piece);                                 \
        if (c) overlap_##SUFFIX(pr_ + t * LANES, pi_ + t * LANES, gr + t * LANES, gi + t * LANES, piece, c);\
        transition_range_##SUFFIX(pr_ + t * LANES, pi_ + t * LANES, gr + t * LANES, gi + t * LANES,\
                                  piece, n, split, n, 1, S);                                    \
    }                                                                                           \
    transition_range_##SUFFIX(pr_, pi_, gr, gi, N, n, first, split, 1, S);                      \
}                                                                                               \
                                                                                                \
/* The snapshot backward of one layer (in cache): every qubit's S from the layer's stored       \
   output state and the adjoint state, then the adjoint state through the adjoint gates. No     \
   un-computation of the state: 28 multiply-adds per amplitude pair and gate, not 48. c: the    \
   overlap of the two states, taken here unless known (known: it is the same at every layer's   \
   output, the adjoint gates and permutations acting on both). */                              \
static void layer_snapshot_backward_##SUFFIX(const T *pr_, const T *pi_, T *gr, T *gi, int n,   \
                                             const T *ms, T *S, T c[2][LANES], int known,       \
                                             const T *fr, const T *fi, const int32_t *index) { \
    int64_t N = (int64_t)1 << n;                                                                \
    transition_qubits_##SUFFIX(pr_, pi_, gr, gi, N, n, 0, S, known ? NULL : c, fr, fi, index);  \
    finish_transitions_##SUFFIX(c, n, S);                                                       \
    mix_qubits_##SUFFIX(gr, gi, N, n, 0, ms, NULL, NULL, NULL);                                 \
}                                                                                               \
                                                                                                \
/* The same on a state larger than the cache (see layer_blocked_), in three passes: the low     \
   qubits' S tile by tile (with the overlap), the high qubits' S and adjoint gates on copied     \
   sub-tiles (the kept state's in b[0..1], the adjoint state's in b[2..3]), the low qubits'      \
   adjoint gates tile by tile. */                                                               \
static void layer_snapshot_backward_blocked_##SUFFIX(const T *pr_, const T *pi_, T *gr, T *gi,  \
                                                     int n, const T *ms, T *S, T c[2][LANES],   \
                                                     int known, T *const *b, const T *fr,      \
                                                     const T *fi, const int32_t *index) {      \
    int64_t tile = (int64_t)1 << BLOCK_BITS, N = (int64_t)1 << n;                               \
    int h = n - BLOCK_BITS;                                                                     \
    int64_t high = (int64_t)1 << h, width = tile >> h;                                          \
    size_t row = LANES * sizeof(T);                                                             \
    for (int64_t t = 0; t < N; t += tile)                                                       \
        transition_qubits_##SUFFIX(pr_ + t * LANES, pi_ + t * LANES, gr + t * LANES, gi + t * LANES,\
                                   tile, n, h, S, known ? NULL : c, fr, fi, index ? index + t : NULL);\
    const T *kept[2] = {pr_, pi_};                                                              \
    T *lam[2] = {gr, gi};                                                                       \
    for (int64_t c0 = 0; c0 < tile; c0 += width) {                                              \
        for (int a = 0; a < 2; a++) {                                                           \
            subtile((char *)kept[a], (char *)b[a], BLOCK_BITS, high, width, c0, row, 1);        \
            subtile((char *)lam[a], (char *)b[2 + a], BLOCK_BITS, high, width, c0, row, 1);     \
        }                                                                                       \
        transition_range_##SUFFIX(b[0], b[1], b[2], b[3], tile, h, 0, h, width, S); /* all S first */\
        mix_range_##SUFFIX(b[2], b[3], tile, h, 0, h, width, ms);                               \
        for (int a = 0; a < 2; a++)                                                             \
            subtile((char *)lam[a], (char *)b[2 + a], BLOCK_BITS, high, width, c0, row, 0);     \
    }                                                                                           \
    finish_transitions_##SUFFIX(c, n, S);                                                       \
    for (int64_t t = 0; t < N; t += tile)                                                       \
        mix_qubits_##SUFFIX(gr + t * LANES, gi + t * LANES, tile, n, h, ms, NULL, NULL, NULL);  \
}                                                                                               \
                                                                                                \
/* One layer (matrix ms[q] on every qubit q) on a state larger than the cache, in two passes:  \
   the low qubits' gates tile by tile (2**BLOCK_BITS rows), then the high qubits' gates on      \
   sub-tiles (see subtile) copied into (br, bi). Gates on different qubits commute: the order  \
   is free. */                                                                                  \
static void layer_blocked_##SUFFIX(T *re, T *im, int n, const T *ms, T *br, T *bi, const T *fr,  \
                                  const T *fi, const int32_t *index) {                         \
    int64_t tile = (int64_t)1 << BLOCK_BITS, N = (int64_t)1 << n;                               \
    int h = n - BLOCK_BITS;                                                                     \
    int64_t high = (int64_t)1 << h, width = tile >> h;                                          \
    for (int64_t t = 0; t < N; t += tile)                                                       \
        mix_qubits_##SUFFIX(re + t * LANES, im + t * LANES, tile, n, h, ms, fr, fi, index ? index + t : NULL);\
    size_t row = LANES * sizeof(T);                                                             \
    for (int64_t c = 0; c < tile; c += width) {                                                 \
        subtile((char *)re, (char *)br, BLOCK_BITS, high, width, c, row, 1);                    \
        subtile((char *)im, (char *)bi, BLOCK_BITS, high, width, c, row, 1);                    \
        mix_range_##SUFFIX(br, bi, tile, h, 0, h, width, ms);                                   \
        subtile((char *)re, (char *)br, BLOCK_BITS, high, width, c, row, 0);                    \
        subtile((char *)im, (char *)bi, BLOCK_BITS, high, width, c, row, 0);                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* The state after a first layer on |0...0>: the product of every qubit's first matrix column  \
   v_q = (m00, m10). Each half of the qubits' product is built one qubit at a time (amplitude   \
   (y, b) is y's times v_q[b]), then amplitude (i, j) is one multiply of the halves': 2**n       \
   multiplies instead of n gates, written once. */                                              \
static void product_state_##SUFFIX(T *re, T *im, int n, const T *ms) {                          \
    int hi = n / 2, lo = n - hi;                                                                \
    int64_t H = (int64_t)1 << hi, L = (int64_t)1 << lo;                                         \
    T (*h)[LANES] = malloc(2 * (H + L) * sizeof *h), (*g)[LANES] = h + 2 * H; /* re, im rows */ \
    for (int half = 0; half < 2; half++) { /* the product state of qubits 0..hi-1, then hi..n-1 */\
        T (*x)[LANES] = half ? g : h;                                                           \
        int from = half ? hi : 0, count = half ? lo : hi;                                       \
        int64_t size = (int64_t)1 << count;                                                     \
        for (int l = 0; l < LANES; l++) { x[0][l] = 1; x[size][l] = 0; }                        \
        for (int q = 0; q < count; q++) { /* amplitude y -> (y, 0) and (y, 1) */                 \
            const T *m = ms + (from + q) * 8 * LANES;                                           \
            for (int64_t y = ((int64_t)1 << q) - 1; y >= 0; y--) {                              \
                T ar[LANES], ai[LANES];                                                         \
                memcpy(ar, x[y], sizeof ar);                                                    \
                memcpy(ai, x[size + y], sizeof ai);                                             \
                for (int l = 0; l < LANES; l++) {                                               \
                    x[2 * y][l] = ar[l] * m[l] - ai[l] * m[LANES + l];                          \
                    x[size + 2 * y][l] = ar[l] * m[LANES + l] + ai[l] * m[l];                   \
                    x[2 * y + 1][l] = ar[l] * m[4 * LANES + l] - ai[l] * m[5 * LANES + l];      \
                    x[size + 2 * y + 1][l] = ar[l] * m[5 * LANES + l] + ai[l] * m[4 * LANES + l];\
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int64_t i = 0; i < H; i++) /* amplitude (i, j): h[i] g[j] */                           \
        for (int64_t j = 0; j < L; j++)                                                         \
            for (int l = 0; l < LANES; l++) {                                                   \
                T ar = h[i][l], ai = h[H + i][l], br = g[j][l], bi = g[L + j][l];               \
                re[(i * L + j) * LANES + l] = ar * br - ai * bi;                                \
                im[(i * L + j) * LANES + l] = ar * bi + ai * br;                                \
            }                                                                                   \
    free(h);                                                                                    \
}                                                                                               \
                                                                                                \
/* S of every qubit of a first layer on |0...0> (see product_state_) from the adjoint state    \
   (gr, gi) at its output, without un-computing it: S_q = e_q conj(v_q)^T, e_q[r] being lam     \
   contracted with conj(v_p) on every qubit p != q and qubit q set to r. Suffix contractions R   \
   (qubits > q, in place over lam) meet prefix products P (qubits < q, in (pr, pi)): about 5 * 2**n\
   complex multiplies, against 28 per pair and gate for a layer. Overwrites lam. */             \
static void product_transitions_##SUFFIX(T *gr, T *gi, T *pr, T *pi, int n, const T *ms, T *S) { \
    for (int l = 0; l < LANES; l++) { pr[LANES + l] = 1; pi[LANES + l] = 0; } /* P_0 at 1 */     \
    for (int q = 0; q + 1 < n; q++) { /* P_(q+1)[(z, b)] = P_q[z] conj(v_q[b]), at 2**(q+1) */ \
        const T *m = ms + q * 8 * LANES;                                                        \
        for (int64_t z = 0; z < ((int64_t)1 << q); z++)                                         \
            for (int b = 0; b < 2; b++)                                                         \
                for (int l = 0; l < LANES; l++) {                                               \
                    int64_t from = (((int64_t)1 << q) + z) * LANES + l;                         \
                    int64_t to = (((int64_t)2 << q) + 2 * z + b) * LANES + l;                   \
                    T vr = m[4 * b * LANES + l], vi = m[(4 * b + 1) * LANES + l];               \
                    pr[to] = pr[from] * vr + pi[from] * vi;                                     \
                    pi[to] = pi[from] * vr - pr[from] * vi;                                     \
                }                                                                               \
    }                                                                                           \
    for (int q = n - 1; q >= 0; q--) { /* (gr, gi) holds R_(q+1): qubits 0..q, q lowest */      \
        const T *m = ms + q * 8 * LANES;                                                        \
        T e[2][2][LANES];                                                                       \
        memset(e, 0, sizeof(e));                                                                \
        for (int64_t z = 0; z < ((int64_t)1 << q); z++)                                         \
            for (int r = 0; r < 2; r++)                                                         \
                for (int l = 0; l < LANES; l++) {                                               \
                    int64_t i = (2 * z + r) * LANES + l, k = (((int64_t)1 << q) + z) * LANES + l;\
                    e[r][0][l] += gr[i] * pr[k] - gi[i] * pi[k];                                \
                    e[r][1][l] += gr[i] * pi[k] + gi[i] * pr[k];                                \
                }                                                                               \
        for (int r = 0; r < 2; r++)                                                             \
            for (int c = 0; c < 2; c++)                                                         \
                for (int l = 0; l < LANES; l++) { /* S[r][c] = e[r] conj(v[c]) */               \
                    T vr = m[4 * c * LANES + l], vi = m[(4 * c + 1) * LANES + l];               \
                    S[(q * 8 + 4 * r + 2 * c) * LANES + l] = e[r][0][l] * vr + e[r][1][l] * vi; \
                    S[(q * 8 + 4 * r + 2 * c + 1) * LANES + l] = e[r][1][l] * vr - e[r][0][l] * vi;\
                }                                                                               \
        for (int64_t y = 0; y < ((int64_t)1 << q); y++) /* R_q[y] = sum_b R_(q+1)[(y, b)] conj(v_q[b]) */\
            for (int l = 0; l < LANES; l++) {                                                   \
                T sr = 0, si = 0;                                                               \
                for (int b = 0; b < 2; b++) {                                                   \
                    T ar = gr[(2 * y + b) * LANES + l], ai = gi[(2 * y + b) * LANES + l];       \
                    T vr = m[4 * b * LANES + l], vi = m[(4 * b + 1) * LANES + l];               \
                    sr += ar * vr + ai * vi;                                                    \
                    si += ai * vr - ar * vi;                                                    \
                }                                                                               \
                gr[y * LANES + l] = sr; gi[y * LANES + l] = si;                                 \
            }                                                                                   \
    }                                                                                           \
}                                                                                               \
                                                                                                \
void fused_forward_##SUFFIX(const T *psi, int64_t psi_stride, const T *mats, int64_t mats_stride,\
                            const int32_t *perm, const uint8_t *has_perm, T *out, T *z, T *snap,\
                            int kept_from, int zero_start, int64_t batch, int n, int layers,   \
                            int threads, const Steps *steps) {                                 \
    int64_t N = (int64_t)1 << n, chunks = (batch + LANES - 1) / LANES;                          \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        int blocked = n >= BLOCKED_FROM;                                                        \
        int64_t NL = N * LANES, tile = blocked ? (int64_t)LANES << BLOCK_BITS : 0;              \
        int64_t extra = steps ? 2 * NL + steps->buffer : 0; /* the steps' table and data */     \
        T *scratch = thread_buffer((4 * NL + n * 8 * LANES + 2 * tile + extra) * sizeof(T));    \
        T *re = scratch, *re2 = re + 2 * NL, *ms = re2 + 2 * NL; /* two (re, im) pairs */         \
        T *br = ms + n * 8 * LANES, *bi = br + tile, *st_t = bi + tile, *st_e = st_t + 2 * NL;   \
        if (steps) {                                                                            \
            _Pragma("omp single")                                                              \
            shared_tables_##SUFFIX(steps->steps, steps->layer_steps[layers], n, (const T *)steps->data,\
                                   (T *)steps->shared, st_e);                                   \
        }                                                                                       \
        _Pragma("omp for schedule(dynamic, 1)")                                                \
        for (int64_t c = 0; c < chunks; c++) {                                                  \
            int64_t first = c * LANES, count = batch - first < LANES ? batch - first : LANES;   \
            T *kept = snap ? snap + c * KEPT_LAYERS(layers, kept_from) * 2 * NL : NULL;         \
            T *xr = KEPT_SLOT(kept, 0, layers, kept_from, NL), *from = NULL; /* the state (xr, xr + NL) */\
            if (!xr) xr = re;                                                                   \
            const int32_t *index = NULL; /* xr from (from, from + NL), see gather_piece */       \
            if (!zero_start) load_##SUFFIX(psi, psi_stride, psi_stride ? first : 0,             \
                                           psi_stride ? count : 1, N, xr, xr + NL);             \
            for (int layer = 0; layer < layers; layer++) {                                      \
                for (int q = 0; q < n; q++)                                                     \
                    matrix_##SUFFIX(mats, mats_stride, mats_stride ? first : 0, mats_stride ? count : 1,\
                                    (int64_t)(layer * n + q) * 8, 0, ms + q * 8 * LANES);       \
                if (zero_start && layer == 0) product_state_##SUFFIX(xr, xr + NL, n, ms);       \
                else if (blocked) layer_blocked_##SUFFIX(xr, xr + NL, n, ms, br, bi, from, from ? from + NL : NULL, index);\
                else mix_qubits_##SUFFIX(xr, xr + NL, N, n, 0, ms, from, from ? from + NL : NULL, index);\
                if (layer_has_steps(steps, layer))                                              \
                    steps_forward_##SUFFIX(steps->steps, steps->layer_steps[layer], steps->layer_steps[layer + 1],\
                                           n, xr, xr + NL, (const T *)steps->data, steps->stride, first, count,\
                                           steps->perms, (const T *)steps->shared, st_t, st_e); \
                /* the next layer's input: its kept slot, else the other scratch pair; the next \
                   layer's gates gather it through this layer's permutation as they go */       \
                T *slot = KEPT_SLOT(kept, layer + 1, layers, kept_from, NL);                    \
                T *next = slot ? slot : xr == re ? re2 : re;                                    \
                from = NULL, index = NULL;                                                      \
                if (has_perm[layer] && layer + 1 < layers) {                                    \
                    from = xr, index = perm + layer * N;                                        \
                    xr = next;                                                                  \
                } else if (has_perm[layer]) {                                                   \
                    gather_##SUFFIX(xr, next, perm + layer * N, N);                             \
                    gather_##SUFFIX(xr + NL, next + NL, perm + layer * N, N);                   \
                    xr = next;                                                                  \
                } else if (layer + 1 < layers && (slot || KEPT_SLOT(kept, layer, layers, kept_from, NL))) {\
                    /* a kept state stays as it is: the next layer's gates copy it as they go */\
                    if (blocked) memcpy(next, xr, 2 * NL * sizeof(T));                          \
                    else from = xr;                                                             \
                    xr = next;                                                                  \
                }                                                                               \
            }                                                                                   \
            store_##SUFFIX(out, first, count, N, xr, xr + NL);                                  \
            if (z) readout_z_##SUFFIX(xr, xr + NL, n, count, z + first * n);                   \
        }                                                                                       \
        release_buffer(scratch);                                                                \
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
/* Entry e (row e / 2, column e % 2) of S M for one lane: S's reals LANES apart (see          \
   finish_transitions), M's and the result's step apart; written (re, im) at d, d + step. */    \
static inline void times_matrix_##SUFFIX(const T *x, const T *M, int64_t step, int e, T *d,     \
                                         int64_t dstep) {                                      \
    int r = e / 2, k = e % 2;                                                                   \
    T sr = 0, si = 0;                                                                           \
    for (int j = 0; j < 2; j++) {                                                               \
        T ar = x[(4 * r + 2 * j) * LANES], ai = x[(4 * r + 2 * j + 1) * LANES];                 \
        T mr = M[(4 * j + 2 * k) * step], mi = M[(4 * j + 2 * k + 1) * step];                   \
        sr += ar * mr - ai * mi;                                                                \
        si += ar * mi + ai * mr;                                                                \
    }                                                                                           \
    d[0] = sr;                                                                                  \
    d[dstep] = si;                                                                              \
}                                                                                               \
                                                                                                \
/* Adjoint backward from dL/d(output) (grad) and dL/d<Z_q> of the output (grad_z, (B, n)), either \
   NULL when none: layer by layer, S from the forward's kept states (snap, kept_from >= 0; the   \
   last layer's from out) or by un-computing the output states gate by gate (kept_from < 0); the \
   first layer from the product state when zero_start. Writes dL/dM = S M (see adjoint_step_) per sample, layer and  \
   qubit into grad_mats (B, L, n, 2, 2) and dL/d(input) into grad_psi (B, N) unless NULL. */   \
void fused_backward_##SUFFIX(const T *out, const T *grad, const T *grad_z, const T *snap,     \
                             int kept_from, const T *mats, int64_t mats_stride,                \
                             const int32_t *inverse, const uint8_t *has_perm, T *grad_mats,    \
                             T *grad_psi, int zero_start, int64_t batch, int n, int layers,    \
                             int threads, const Steps *steps) {                                \
    int64_t N = (int64_t)1 << n, chunks = (batch + LANES - 1) / LANES;                          \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        int blocked = n >= BLOCKED_FROM;                                                        \
        int64_t NL = N * LANES, tile = blocked ? (int64_t)LANES << BLOCK_BITS : 0;              \
        int64_t extra = steps ? 2 * NL + 2 * steps->buffer : 0; /* the steps' table, data, sums */\
        T *scratch = thread_buffer((5 * NL + 2 * n * 8 * LANES + 4 * tile + extra) * sizeof(T));\
        T *re = scratch, *im = re + NL, *gr = im + NL, *gi = gr + NL, *tmp = gi + NL;           \
        T *ms = tmp + NL, *S = ms + n * 8 * LANES;                                              \
        T *b[4] = {S + n * 8 * LANES, S + n * 8 * LANES + tile, S + n * 8 * LANES + 2 * tile,   \
                   S + n * 8 * LANES + 3 * tile};                                               \
        T *st_t = b[3] + tile, *st_e = st_t + 2 * NL, *st_acc = steps ? st_e + steps->buffer : NULL;\
        if (steps) {                                                                            \
            _Pragma("omp single")                                                              \
            shared_tables_##SUFFIX(steps->steps, steps->layer_steps[layers], n, (const T *)steps->data,\
                                   (T *)steps->shared, st_e);                                   \
        }                                                                                       \
        _Pragma("omp for schedule(dynamic, 1)")                                                \
        for (int64_t c = 0; c < chunks; c++) {                                                  \
            int64_t first = c * LANES, count = batch - first < LANES ? batch - first : LANES;   \
            int keep = kept_from >= 0; /* S off the kept states (the last layer's: out) */      \
            T lap[2][LANES] = {{0}}; /* the overlap, once known (see layer_snapshot_backward_) */\
            int known = 0;                                                                      \
            T *kept = (T *)snap + c * KEPT_LAYERS(layers, kept_from) * 2 * NL;                  \
            load_##SUFFIX(out, 2 * N, first, count, N, re, im);                                 \
            if (grad) load_##SUFFIX(grad, 2 * N, first, count, N, gr, gi);                      \
            if (grad_z) readout_z_adjoint_##SUFFIX(re, im, gr, gi, n, grad_z + first * n, count, tmp, grad != NULL);\
            for (int layer = layers - 1; layer >= 0; layer--) {                                 \
                int from_kept = keep && layer < layers - 1 && !(zero_start && layer == 0);      \
                int stepped = layer_has_steps(steps, layer);                                    \
                const T *fr = NULL, *fi = NULL; /* the adjoint state to gather, as S is taken */\
                const int32_t *index = NULL;                                                    \
                if (has_perm[layer] && from_kept && !stepped) { /* into (re, im), free here */  \
                    fr = gr, fi = gi, index = inverse + layer * N;                              \
                    T *t = gr; gr = re; re = t; t = gi; gi = im; im = t;                        \
                } else if (has_perm[layer]) { /* each array gathered into the spare, which it then becomes */\
                    T **arrays[4] = {&gr, &gi, &re, &im};                                       \
                    for (int a = 0; a < (keep && layer < layers - 1 ? 2 : 4); a++) {            \
                        gather_##SUFFIX(*arrays[a], tmp, inverse + layer * N, N);               \
                        T *t = *arrays[a]; *arrays[a] = tmp; tmp = t;                           \
                    }                                                                           \
                }                                                                               \
                for (int q = 0; q < n; q++)                                                     \
                    matrix_##SUFFIX(mats, mats_stride, mats_stride ? first : 0, mats_stride ? count : 1,\
                                    (int64_t)(layer * n + q) * 8, 1, ms + q * 8 * LANES);       \
                if (stepped) { /* back through the steps to the one-qubit gates' output */      \
                    T *pr = from_kept ? KEPT_SLOT(kept, layer, layers, kept_from, NL) : re;     \
                    T *pi = from_kept ? pr + NL : im;                                           \
                    if (zero_start && layer == 0 && keep) { /* the state was not kept: rebuilt */\
                        for (int q = 0; q < n; q++)                                             \
                            matrix_##SUFFIX(mats, mats_stride, mats_stride ? first : 0, mats_stride ? count : 1,\
                                            (int64_t)q * 8, 0, S + q * 8 * LANES);              \
                        product_state_##SUFFIX(re, im, n, S);                                   \
                        steps_forward_##SUFFIX(steps->steps, steps->layer_steps[0], steps->layer_steps[1], n, re, im,\
                                               (const T *)steps->data, steps->stride, first, count, steps->perms,\
                                               (const T *)steps->shared, st_t, st_e);           \
                    }                                                                           \
                    steps_backward_##SUFFIX(steps->steps, steps->layer_steps[layer], steps->layer_steps[layer + 1],\
                                            n, pr, pi, gr, gi, (const T *)steps->data, steps->stride, first,\
                                            count, steps->inverses, (const T *)steps->shared, (T *)steps->grad,\
                                            steps->grad_stride,                                 \
                                            st_t, st_e, st_acc);                                \
                }                                                                               \
                memset(S, 0, n * 8 * LANES * sizeof(T));                                        \
                if (zero_start && layer == 0) {                                                 \
                    for (int q = 0; q < n; q++) /* the forward matrices: v_q is column 0 */     \
                        matrix_##SUFFIX(mats, mats_stride, mats_stride ? first : 0, mats_stride ? count : 1,\
                                        (int64_t)q * 8, 0, ms + q * 8 * LANES);                 \
                    product_transitions_##SUFFIX(gr, gi, re, im, n, ms, S);                     \
                } else if (keep) {                                                              \
                    const T *at = layer == layers - 1 ? NULL : KEPT_SLOT(kept, layer, layers, kept_from, NL);\
                    const T *pr = at ? at : re, *pi = at ? at + NL : im;                        \
                    if (blocked) layer_snapshot_backward_blocked_##SUFFIX(pr, pi, gr, gi, n, ms, S, lap, known, b, fr, fi, index);\
                    else layer_snapshot_backward_##SUFFIX(pr, pi, gr, gi, n, ms, S, lap, known, fr, fi, index);\
                    known = 1;                                                                  \
                } else {                                                                        \
                    if (blocked) layer_adjoint_blocked_##SUFFIX(re, im, gr, gi, n, ms, S, b);   \
                    else                                                                        \
                        for (int q = n - 1; q >= 0; q--)                                        \
                            adjoint_step_##SUFFIX(re, im, gr, gi, N, (int64_t)1 << (n - 1 - q), \
                                                  ms + q * 8 * LANES, S + q * 8 * LANES);       \
                    if (!known) overlap_##SUFFIX(re, im, gr, gi, N, lap);                       \
                    known = 1;                                                                  \
                    finish_transitions_##SUFFIX(lap, n, S);                                     \
                }                                                                               \
                for (int q = 0; q < n; q++) { /* dL/dM = S M */                                 \
                    int64_t at = (int64_t)(layer * n + q) * 8;                                  \
                    const T *x = S + q * 8 * LANES;                                             \
                    if (mats_stride < 0) { /* lane blocks: every lane at once */                \
                        const T *M = mats + c * -mats_stride + at * LANES;                      \
                        T *d = grad_mats + c * -mats_stride + at * LANES;                       \
                        for (int e = 0; e < 4; e++)                                             \
                            for (int l = 0; l < LANES; l++)                                     \
                                times_matrix_##SUFFIX(x + l, M + l, LANES, e, d + 2 * e * LANES + l, LANES);\
                    } else                                                                      \
                        for (int l = 0; l < count; l++)                                         \
                            for (int e = 0; e < 4; e++)                                         \
                                times_matrix_##SUFFIX(x + l, mats + (mats_stride ? first + l : 0) * mats_stride + at, 1, e,\
                                                      grad_mats + (first + l) * (int64_t)layers * n * 8 + at + 2 * e, 1);\
                }                                                                               \
            }                                                                                   \
            if (grad_psi) store_##SUFFIX(grad_psi, first, count, N, gr, gi);                    \
        }                                                                                       \
        release_buffer(scratch);                                                                \
    }                                                                                           \
}

DEFINE_LANE_GATES(float, f32)
DEFINE_LANE_GATES(double, f64)
DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
