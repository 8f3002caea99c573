/* The single-state CPU kernel (see the comment below); helpers shared with native.c in lanes.h. */
#include "lanes.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

DEFINE_LANE_GATES(float, f32)
DEFINE_LANE_GATES(double, f64)

/* One large state, forward only: the same layered programs on a single state of n >= 8 qubits.
 * The state is split into re and im planes and viewed as rows of LANES amplitudes: the low 4
 * qubits are the lanes, the others index rows (qubit q of n is index bit n - 1 - q, the rule of
 * hybridq/qubit_order.py, copied because C cannot import it). A layer then takes three cache-friendly passes:
 *   A. tiles of 2**r consecutive rows: the 4 lane qubits (lane permutes in registers) and the
 *      r lowest row qubits;
 *   B. strided sub-tiles (all values of the remaining high row bits, a few adjacent rows): the
 *      high row qubits;
 *   C. the layer's permutation, a gather into a second pair of planes.
 * mats (L, n, 2, 2) is shared by the whole state; perms[l] is layer l's gather index (int32,
 * N entries) or NULL; real[l] says that layer l's matrices are real (RY, Hadamard, ...): it then
 * acts on each plane alone at half the arithmetic, and while the state is real too (a real input
 * and real layers so far: RY + CNOT ansätze stay real) the imaginary plane is left out.
 */
/* The four lane qubits' gates on one row of LANES amplitudes: amplitude l becomes
   A[b][0..1]_l x_l + A[b][2..3]_l x_(l ^ 2**b) (complex coefficients, re then im) for b = 0..3;
   ``real`` rows take the real parts A[b][0] and A[b][2] only. */
#define DEFINE_LANE_ROWS(T, SUFFIX)                                                              \
static void lane_row_complex_##SUFFIX(T *restrict xr, T *restrict xi, T A[4][4][LANES]) {       \
    for (int b = 0; b < 4; b++) {                                                               \
        T pr[LANES], pi[LANES];                                                                 \
        for (int l = 0; l < LANES; l++) { pr[l] = xr[l ^ (1 << b)]; pi[l] = xi[l ^ (1 << b)]; } \
        for (int l = 0; l < LANES; l++) {                                                       \
            T nr = A[b][0][l] * xr[l] - A[b][1][l] * xi[l] + A[b][2][l] * pr[l] - A[b][3][l] * pi[l];\
            T ni = A[b][0][l] * xi[l] + A[b][1][l] * xr[l] + A[b][2][l] * pi[l] + A[b][3][l] * pr[l];\
            xr[l] = nr; xi[l] = ni;                                                             \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
static void lane_row_real_##SUFFIX(T *restrict x, T A[4][4][LANES]) {                           \
    for (int b = 0; b < 4; b++) {                                                               \
        T p[LANES];                                                                             \
        for (int l = 0; l < LANES; l++) p[l] = x[l ^ (1 << b)];                                 \
        for (int l = 0; l < LANES; l++) x[l] = A[b][0][l] * x[l] + A[b][2][l] * p[l];           \
    }                                                                                           \
}
DEFINE_LANE_ROWS(float, f32)
DEFINE_LANE_ROWS(double, f64)

#if defined(__AVX512F__)
/* Compilers turn the partner loads x[l ^ 2**b] above into scalar code; with AVX-512 the
   complex64 rows (16 floats, one register) use one in-register permute per gate: 3x faster. */
static inline __m512 lane_partner(__m512 x, int b) {
    switch (b) {
    case 0: return _mm512_permute_ps(x, 0xB1);      /* l ^ 1 */
    case 1: return _mm512_permute_ps(x, 0x4E);      /* l ^ 2 */
    case 2: return _mm512_shuffle_f32x4(x, x, 0xB1); /* l ^ 4 */
    default: return _mm512_shuffle_f32x4(x, x, 0x4E); /* l ^ 8 */
    }
}
static void lane_row_complex_avx512(float *xr, float *xi, float A[4][4][LANES]) {
    __m512 vr = _mm512_loadu_ps(xr), vi = _mm512_loadu_ps(xi);
    for (int b = 0; b < 4; b++) {
        __m512 pr = lane_partner(vr, b), pi = lane_partner(vi, b);
        __m512 a0 = _mm512_loadu_ps(A[b][0]), a1 = _mm512_loadu_ps(A[b][1]);
        __m512 a2 = _mm512_loadu_ps(A[b][2]), a3 = _mm512_loadu_ps(A[b][3]);
        __m512 nr = _mm512_fnmadd_ps(a3, pi, _mm512_fmadd_ps(a2, pr, _mm512_fnmadd_ps(a1, vi, _mm512_mul_ps(a0, vr))));
        __m512 ni = _mm512_fmadd_ps(a3, pr, _mm512_fmadd_ps(a2, pi, _mm512_fmadd_ps(a1, vr, _mm512_mul_ps(a0, vi))));
        vr = nr; vi = ni;
    }
    _mm512_storeu_ps(xr, vr); _mm512_storeu_ps(xi, vi);
}
static void lane_row_real_avx512(float *x, float A[4][4][LANES]) {
    __m512 v = _mm512_loadu_ps(x);
    for (int b = 0; b < 4; b++)
        v = _mm512_fmadd_ps(_mm512_loadu_ps(A[b][2]), lane_partner(v, b), _mm512_mul_ps(_mm512_loadu_ps(A[b][0]), v));
    _mm512_storeu_ps(x, v);
}
#define LANE_ROW_COMPLEX_f32 lane_row_complex_avx512
#define LANE_ROW_REAL_f32 lane_row_real_avx512
#else
#define LANE_ROW_COMPLEX_f32 lane_row_complex_f32
#define LANE_ROW_REAL_f32 lane_row_real_f32
#endif
#define LANE_ROW_COMPLEX_f64 lane_row_complex_f64
#define LANE_ROW_REAL_f64 lane_row_real_f64

#define DEFINE_STATE_KERNEL(T, SUFFIX)                                                          \
/* A real 2x2 matrix (m00 m01 m10 m11 = m[0], m[2], m[4], m[6] of a complex one) on the qubit   \
   whose row bit is s, on one plane of N rows. */                                               \
static void mix_real_##SUFFIX(T *restrict x, int64_t N, int64_t s, const T *m) {               \
    T a = m[0], b = m[2], c = m[4], d = m[6];                                                   \
    for (int64_t base = 0; base < N; base += 2 * s)                                             \
        for (int64_t i = base * LANES; i < (base + s) * LANES; i++) {                           \
            T p = x[i], q = x[i + s * LANES];                                                   \
            x[i] = a * p + b * q;                                                               \
            x[i + s * LANES] = c * p + d * q;                                                   \
        }                                                                                       \
}                                                                                               \
                                                                                                \
/* Two real 2x2 matrices g (row bit s) and h (row bit t > s) in one sweep over one plane. */       \
static void mix_real2_##SUFFIX(T *restrict x, int64_t N, int64_t s, int64_t t, const T *g,      \
                               const T *h) {                                                    \
    T a = g[0], b = g[2], c = g[4], d = g[6], e = h[0], f = h[2], k = h[4], m = h[6];           \
    for (int64_t hi = 0; hi < N; hi += 2 * t)                                                   \
        for (int64_t lo = hi; lo < hi + t; lo += 2 * s)                                         \
            for (int64_t i = lo * LANES; i < (lo + s) * LANES; i++) {                           \
                T *y = x + i;                                                                   \
                T p0 = y[0], p1 = y[s * LANES], p2 = y[t * LANES], p3 = y[(s + t) * LANES];     \
                T q0 = a * p0 + b * p1, q1 = c * p0 + d * p1;                                   \
                T q2 = a * p2 + b * p3, q3 = c * p2 + d * p3;                                   \
                y[0] = e * q0 + f * q2; y[t * LANES] = k * q0 + m * q2;                         \
                y[s * LANES] = e * q1 + f * q3; y[(s + t) * LANES] = k * q1 + m * q3;           \
            }                                                                                   \
}                                                                                               \
                                                                                                \
/* Real matrices on the row bits first..first+count-1 (stride unit rows each), two at a time. */ \
static void mix_real_bits_##SUFFIX(T *x, int64_t N, int64_t unit, int count, const T *M, int n, \
                                   int first) {                                                 \
    int b = 0;                                                                                  \
    for (; b + 1 < count; b += 2)                                                               \
        mix_real2_##SUFFIX(x, N, unit << b, unit << (b + 1), M + (int64_t)(n - 5 - first - b) * 8,\
                           M + (int64_t)(n - 6 - first - b) * 8);                               \
    if (b < count) mix_real_##SUFFIX(x, N, unit << b, M + (int64_t)(n - 5 - first - b) * 8);    \
}                                                                                               \
                                                                                                \
/* Pass A on the tile (tr, ti) of ``tile`` rows: complex, or real on planes[0..planes-1]. */    \
static void tile_pass_##SUFFIX(T *tr, T *ti, int64_t tile, int r, int n, const T *M, int is_real,\
                               int planes, T lane[4][4][LANES]) {                               \
    if (!is_real) {                                                                             \
        T m[8 * LANES];                                                                         \
        for (int64_t row = 0; row < tile; row++)                                                \
            LANE_ROW_COMPLEX_##SUFFIX(tr + row * LANES, ti + row * LANES, lane);                \
        for (int b = 0; b < r; b++) {                                                           \
            matrix_##SUFFIX(M, 0, 0, 1, (int64_t)(n - 5 - b) * 8, 0, m);                        \
            mix_##SUFFIX(tr, ti, tile, (int64_t)1 << b, m);                                     \
        }                                                                                       \
        return;                                                                                 \
    }                                                                                           \
    T *plane[2] = {tr, ti};                                                                     \
    for (int k = 0; k < planes; k++) {                                                          \
        for (int64_t row = 0; row < tile; row++) LANE_ROW_REAL_##SUFFIX(plane[k] + row * LANES, lane);\
        mix_real_bits_##SUFFIX(plane[k], tile, 1, r, M, n, 0);                                  \
    }                                                                                           \
}                                                                                               \
                                                                                                \
void state_forward_##SUFFIX(const T *psi, const T *mats, const int32_t *const *perms,         \
                            const uint8_t *real, T *out, int n, int layers, int threads) {     \
    int64_t N = (int64_t)1 << n, rows = N / LANES;                                              \
    int row_bits = n - 4, r = (row_bits + 1) / 2, h = row_bits - r;                             \
    int64_t tile = (int64_t)1 << r, high = (int64_t)1 << h;                                     \
    int64_t width = (int64_t)4096 >> h; /* adjacent rows per sub-tile: 4096 rows in all */      \
    if (width < 1) width = 1;                                                                   \
    if (width > tile) width = tile;                                                             \
    T *planes4 = thread_buffer(4 * N * sizeof(T));                                              \
    T *re = planes4, *im = planes4 + N, *re2 = planes4 + 2 * N, *im2 = planes4 + 3 * N;          \
    int complex_input = 0;                                                                      \
    _Pragma("omp parallel for num_threads(threads) schedule(static) reduction(|: complex_input)")\
    for (int64_t i = 0; i < N; i++) {                                                           \
        re[i] = psi[2 * i]; im[i] = psi[2 * i + 1];                                             \
        complex_input |= im[i] != 0;                                                            \
    }                                                                                           \
    int planes = complex_input ? 2 : 1; /* 1: the imaginary plane is zero */                    \
    for (int layer = 0; layer < layers; layer++) {                                              \
        const T *M = mats + (int64_t)layer * n * 8;                                             \
        int is_real = real[layer];                                                              \
        if (!is_real) planes = 2;                                                               \
        /* lane coefficients (see DEFINE_LANE_ROWS) from the lane qubits' matrices */           \
        T lane[4][4][LANES];                                                                    \
        for (int b = 0; b < 4; b++) {                                                           \
            const T *m = M + (int64_t)(n - 1 - b) * 8;                                          \
            for (int l = 0; l < LANES; l++) {                                                   \
                int hi = (l >> b) & 1;                                                          \
                lane[b][0][l] = hi ? m[6] : m[0]; lane[b][1][l] = hi ? m[7] : m[1];             \
                lane[b][2][l] = hi ? m[4] : m[2]; lane[b][3][l] = hi ? m[5] : m[3];             \
            }                                                                                   \
        }                                                                                       \
        T *plane[2] = {re, im};                                                                 \
        _Pragma("omp parallel num_threads(threads)")                                           \
        {                                                                                       \
            T m[8 * LANES];                                                                     \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t t = 0; t < rows / tile; t++)                                           \
                tile_pass_##SUFFIX(re + t * tile * LANES, im + t * tile * LANES, tile, r, n, M, \
                                   is_real, planes, lane);                                      \
            T *b_[2] = {lane_buffer(high * width * LANES, sizeof(T)),                           \
                        lane_buffer(high * width * LANES, sizeof(T))};                          \
            size_t row = LANES * sizeof(T);                                                     \
            _Pragma("omp for schedule(static)")                                                \
            for (int64_t c = 0; c < tile; c += width) {                                         \
                for (int k = 0; k < planes; k++) subtile((char *)plane[k], (char *)b_[k], r, high, width, c, row, 1);\
                for (int k = 0; is_real && k < planes; k++)                                     \
                    mix_real_bits_##SUFFIX(b_[k], high * width, width, h, M, n, r);             \
                for (int b = 0; !is_real && b < h; b++) {                                       \
                    matrix_##SUFFIX(M, 0, 0, 1, (int64_t)(n - 5 - r - b) * 8, 0, m);            \
                    mix_##SUFFIX(b_[0], b_[1], high * width, ((int64_t)1 << b) * width, m);     \
                }                                                                               \
                for (int k = 0; k < planes; k++) subtile((char *)plane[k], (char *)b_[k], r, high, width, c, row, 0);\
            }                                                                                   \
            free(b_[0]); free(b_[1]);                                                           \
        }                                                                                       \
        if (perms[layer]) {                                                                     \
            const int32_t *index = perms[layer];                                                \
            if (planes == 2) {                                                                  \
                _Pragma("omp parallel for num_threads(threads) schedule(static)")              \
                for (int64_t i = 0; i < N; i++) { re2[i] = re[index[i]]; im2[i] = im[index[i]]; }\
                T *swap = im; im = im2; im2 = swap;                                             \
            } else {                                                                            \
                _Pragma("omp parallel for num_threads(threads) schedule(static)")              \
                for (int64_t i = 0; i < N; i++) re2[i] = re[index[i]];                          \
            }                                                                                   \
            T *swap = re; re = re2; re2 = swap;                                                 \
        }                                                                                       \
    }                                                                                           \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                          \
    for (int64_t i = 0; i < N; i++) { out[2 * i] = re[i]; out[2 * i + 1] = im[i]; }             \
    release_buffer(planes4);                                                                    \
}

DEFINE_STATE_KERNEL(float, f32)
DEFINE_STATE_KERNEL(double, f64)
