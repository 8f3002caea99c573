/* Read-out kernels of a batch of states (B, N) of n qubits, N = 2**n; qubit 0 is the most
 * significant bit of an index, as everywhere in hybridq. Complex numbers are interleaved re, im.
 *
 * <Z_q> = sum_i |psi_i|**2 (1 - 2 bit_q(i)). An index is split into its high and low halves:
 * a forward pass adds |psi_i|**2 into one row sum per high half and one column sum per low half
 * (two adds per amplitude), and every <Z_q> comes from those sums. The backward's
 * dL/dpsi_i = 2 psi_i f(i), f(i) = sum_q g_q (1 - 2 bit_q(i)), reads f off one table per half.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFINE_MEASURE(T, SUFFIX)                                                               \
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
/* <Z_q> for every qubit q of every state: out (B, n). */                                       \
void expval_z_##SUFFIX(const T *psi, T *out, int64_t batch, int n, int threads) {              \
    int lo = n / 2, hi = n - lo;                                                                \
    int64_t L = (int64_t)1 << lo, H = (int64_t)1 << hi;                                         \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        T *rows = malloc((H + L) * sizeof(T)), *cols = rows + H;                                \
        _Pragma("omp for schedule(static)")                                                    \
        for (int64_t b = 0; b < batch; b++) {                                                   \
            const T *s = psi + b * 2 * H * L;                                                   \
            memset(cols, 0, L * sizeof(T));                                                     \
            for (int64_t h = 0; h < H; h++) {                                                   \
                T sum = 0;                                                                      \
                for (int64_t l = 0; l < L; l++) {                                               \
                    T re = s[2 * (h * L + l)], im = s[2 * (h * L + l) + 1], p = re * re + im * im;\
                    sum += p;                                                                   \
                    cols[l] += p;                                                               \
                }                                                                               \
                rows[h] = sum;                                                                  \
            }                                                                                   \
            T total = 0, *z = out + b * n;                                                      \
            for (int64_t h = 0; h < H; h++) total += rows[h];                                   \
            for (int q = 0; q < n; q++) { /* total - 2 (the probability of bit q = 1) */        \
                int bit = n - 1 - q;                                                            \
                const T *sums = bit >= lo ? rows : cols;                                        \
                int64_t count = bit >= lo ? H : L, mask = (int64_t)1 << (bit >= lo ? bit - lo : bit);\
                T one = 0;                                                                      \
                for (int64_t i = 0; i < count; i++) one += (i & mask) ? sums[i] : 0;            \
                z[q] = total - 2 * one;                                                         \
            }                                                                                   \
        }                                                                                       \
        free(rows);                                                                             \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* dL/dpsi (B, N) complex from g = dL/d<Z_q> (B, n). */                                          \
void expval_z_backward_##SUFFIX(const T *psi, const T *grad, T *out, int64_t batch, int n,     \
                                int threads) {                                                 \
    int lo = n / 2, hi = n - lo;                                                                \
    int64_t L = (int64_t)1 << lo, H = (int64_t)1 << hi;                                         \
    _Pragma("omp parallel num_threads(threads)")                                               \
    {                                                                                           \
        T *fh = malloc((H + L) * sizeof(T)), *fl = fh + H;                                      \
        _Pragma("omp for schedule(static)")                                                    \
        for (int64_t b = 0; b < batch; b++) {                                                   \
            const T *g = grad + b * n, *s = psi + b * 2 * H * L;                                \
            T *d = out + b * 2 * H * L;                                                         \
            for (int64_t h = 0; h < H; h++) { /* f = fh[high half] + fl[low half], both x 2 */  \
                T f = 0;                                                                        \
                for (int q = 0; q < hi; q++) f += (h >> (hi - 1 - q) & 1) ? -g[q] : g[q];       \
                fh[h] = 2 * f;                                                                  \
            }                                                                                   \
            for (int64_t l = 0; l < L; l++) {                                                   \
                T f = 0;                                                                        \
                for (int q = hi; q < n; q++) f += (l >> (n - 1 - q) & 1) ? -g[q] : g[q];        \
                fl[l] = 2 * f;                                                                  \
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
