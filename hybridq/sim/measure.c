/* Read-out kernels of a batch of states (B, N) of n qubits, N = 2**n; qubit 0 is the most
 * significant bit of an index (qubit q of n is index bit n - 1 - q: the rule of
 * hybridq/qubit_order.py, copied here because C cannot import it). Complex numbers are
 * interleaved re, im.
 *
 * <Z_q> = sum_i |psi_i|**2 (1 - 2 bit_q(i)). An index is split into its 4 high bits and the
 * rest: a forward pass adds |psi_i|**2 into one row sum per value of the high bits and one
 * column sum per value of the low bits (two adds per amplitude), and every <Z_q> comes from
 * those sums. The backward's dL/dpsi_i = 2 psi_i f(i), f(i) = sum_q g_q (1 - 2 bit_q(i)),
 * reads f off one table per part.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFINE_MEASURE(T, SUFFIX)                                                               \
                                                                                                \
/* The index of the first NaN or infinity among count values, else -1, into *out (the finite-  \
   value check of hybridq/checks.py: one scan, no reduction to set up). */                      \
void first_nonfinite_##SUFFIX(const T *x, int64_t count, int64_t *out) {                       \
    *out = -1;                                                                                  \
    for (int64_t i = 0; i < count; i++)                                                         \
        if (!isfinite(x[i])) {                                                                  \
            *out = i;                                                                           \
            return;                                                                             \
        }                                                                                       \
}                                                                                               \
                                                                                                \
/* |psi|**2 of count complex amplitudes (one pass), and its backward dL/dpsi = 2 g psi. */      \
void squared_modulus_##SUFFIX(const T *psi, T *out, int64_t count, int threads) {              \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                          \
    for (int64_t i = 0; i < count; i++) out[i] = psi[2 * i] * psi[2 * i] + psi[2 * i + 1] * psi[2 * i + 1];\
}                                                                                               \
void squared_modulus_backward_##SUFFIX(const T *psi, const T *grad, T *out, int64_t count,      \
                                       int threads) {                                          \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                          \
    for (int64_t i = 0; i < count; i++) {                                                       \
        T g = 2 * grad[i];                                                                      \
        out[2 * i] = g * psi[2 * i];                                                            \
        out[2 * i + 1] = g * psi[2 * i + 1];                                                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* Sum of x[i] over i < count with i & mask (all i when mask is 0): 16 partial sums, so the     \
   compiler vectorises it (a plain running sum would have to stay in order). */                 \
static T masked_sum_##SUFFIX(const T *x, int64_t count, int64_t mask) {                         \
    T part[16] = {0}, sum = 0;                                                                  \
    int64_t i = 0;                                                                              \
    for (; i + 16 <= count; i += 16)                                                            \
        for (int k = 0; k < 16; k++) part[k] += (!mask || ((i + k) & mask)) ? x[i + k] : 0;     \
    for (; i < count; i++) sum += (!mask || (i & mask)) ? x[i] : 0;                             \
    for (int k = 0; k < 16; k++) sum += part[k];                                                \
    return sum;                                                                                 \
}                                                                                               \
                                                                                                \
/* <Z_q> for every qubit q of every state: out (B, n). */                                       \
void expval_z_##SUFFIX(const T *psi, T *out, int64_t batch, int n, int threads) {              \
    int hi = n < 4 ? n : 4, lo = n - hi;                                                        \
    int64_t L = (int64_t)1 << lo, H = (int64_t)1 << hi;                                         \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        T *rows = malloc((H + 2 * L) * sizeof(T)), *cols = rows + H, *p = cols + L;             \
        _Pragma("omp for schedule(static)")                                                    \
        for (int64_t b = 0; b < batch; b++) {                                                   \
            const T *restrict s = psi + b * 2 * H * L;                                          \
            T *restrict c = cols, *restrict q = p;                                              \
            memset(c, 0, L * sizeof(T));                                                        \
            for (int64_t h = 0; h < H; h++) {                                                   \
                for (int64_t l = 0; l < L; l++) {                                               \
                    T re = s[2 * (h * L + l)], im = s[2 * (h * L + l) + 1];                     \
                    q[l] = re * re + im * im;                                                   \
                    c[l] += q[l];                                                               \
                }                                                                               \
                rows[h] = masked_sum_##SUFFIX(q, L, 0);                                         \
            }                                                                                   \
            T total = masked_sum_##SUFFIX(rows, H, 0), *z = out + b * n;                        \
            for (int q = 0; q < n; q++) { /* total - 2 (the probability of bit q = 1) */        \
                int bit = n - 1 - q;                                                            \
                z[q] = total - 2 * (bit >= lo ? masked_sum_##SUFFIX(rows, H, (int64_t)1 << (bit - lo))\
                                             : masked_sum_##SUFFIX(cols, L, (int64_t)1 << bit));\
            }                                                                                   \
        }                                                                                       \
        free(rows);                                                                             \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* dL/dpsi (B, N) complex from g = dL/d<Z_q> (B, n): f(i) = fh[high bits] + fl[low bits], each  \
   table built by doubling (an entry with bit b set is the one without it minus 2 g_q). */      \
void expval_z_backward_##SUFFIX(const T *psi, const T *grad, T *out, int64_t batch, int n,     \
                                int threads) {                                                 \
    int hi = n < 4 ? n : 4, lo = n - hi;                                                        \
    int64_t L = (int64_t)1 << lo, H = (int64_t)1 << hi;                                         \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        T *fh = malloc((H + L) * sizeof(T)), *fl = fh + H;                                      \
        _Pragma("omp for schedule(static)")                                                    \
        for (int64_t b = 0; b < batch; b++) {                                                   \
            const T *g = grad + b * n, *restrict s = psi + b * 2 * H * L;                       \
            T *restrict d = out + b * 2 * H * L, sum = 0;                                       \
            for (int q = 0; q < n; q++) sum += g[q];                                            \
            fh[0] = 2 * sum; /* 2 f: the 2 of d|psi|^2 */                                       \
            fl[0] = 0;                                                                          \
            for (int bit = 0; bit < n; bit++) {                                                 \
                T *f = bit >= lo ? fh : fl;                                                     \
                int64_t half = (int64_t)1 << (bit >= lo ? bit - lo : bit);                      \
                for (int64_t i = 0; i < half; i++) f[half + i] = f[i] - 4 * g[n - 1 - bit];     \
            }                                                                                   \
            for (int64_t h = 0; h < H; h++)                                                     \
                for (int64_t l = 0; l < L; l++) {                                               \
                    T f = fh[h] + fl[l];                                                        \
                    d[2 * (h * L + l)] = f * s[2 * (h * L + l)];                                \
                    d[2 * (h * L + l) + 1] = f * s[2 * (h * L + l) + 1];                        \
                }                                                                               \
        }                                                                                       \
        free(fh);                                                                               \
    }                                                                                           \
}

DEFINE_MEASURE(float, f32)
DEFINE_MEASURE(double, f64)
