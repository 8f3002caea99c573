/* Programs of pair rotations (hybridq/sim/pairs.py) and permutations on states in torch's
 * layout ((B, N) complex, interleaved re, im), forward and adjoint: the chemistry ansätze (a
 * fermionic excitation is one pair rotation) on one or a few states, where the lane kernels of
 * native.c, 16 samples at a time, would waste most of their work.
 *
 * The steps, in order, each one of
 *   a pair rotation: pairs first .. last - 1 of the concatenated (x, y, phase, angle) arrays;
 *     on each pair, with c = cos(phi / 2), s = sin(phi / 2) and b the unit phase,
 *       psi[x] <- c psi[x] + s b psi[y],   psi[y] <- c psi[y] - s conj(b) psi[x];
 *   a permutation: out[i] = in[index[i]] (index: its row of N ints of the gather tables).
 * Step k is (kind, first, last) at steps[3 k] (kind 0: pair rotation, 1: permutation, first:
 * its gather row). Angles: per sample (stride astride reals; 0: shared by the batch).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PAIR_KERNELS(T, SUFFIX, COS, SIN)                                                       \
                                                                                                \
static void gather_pairs_##SUFFIX(T *psi, T *tmp, const int32_t *index, int64_t N) {            \
    for (int64_t i = 0; i < N; i++) {                                                           \
        tmp[2 * i] = psi[2 * (int64_t)index[i]];                                                \
        tmp[2 * i + 1] = psi[2 * (int64_t)index[i] + 1];                                        \
    }                                                                                           \
    memcpy(psi, tmp, 2 * N * sizeof(T));                                                        \
}                                                                                               \
                                                                                                \
/* The steps on each state of psi (B, N), in place. */                                          \
void pairs_forward_##SUFFIX(T *psi, int64_t batch, int64_t N, const int64_t *steps, int count,  \
                            const int64_t *x, const int64_t *y, const T *phase, const T *angles,\
                            int64_t astride, const int32_t *perms, int threads) {              \
    _Pragma("omp parallel for num_threads(threads) schedule(dynamic, 1) if(batch > 1)")        \
    for (int64_t b = 0; b < batch; b++) {                                                       \
        T *p = psi + b * 2 * N, *tmp = NULL;                                                    \
        const T *phi = angles + b * astride;                                                    \
        for (int k = 0; k < count; k++) {                                                       \
            const int64_t *st = steps + 3 * k;                                                  \
            if (st[0] == 1) {                                                                   \
                if (!tmp) tmp = malloc(2 * N * sizeof(T));                                      \
                gather_pairs_##SUFFIX(p, tmp, perms + st[1] * N, N);                            \
                continue;                                                                       \
            }                                                                                   \
            for (int64_t s = st[1]; s < st[2]; s++) {                                           \
                T c = COS(phi[s] / 2), sn = SIN(phi[s] / 2);                                    \
                T br = sn * phase[2 * s], bi = sn * phase[2 * s + 1];                           \
                T *u = p + 2 * x[s], *v = p + 2 * y[s];                                         \
                T ur = u[0], ui = u[1], vr = v[0], vi = v[1];                                   \
                u[0] = c * ur + br * vr - bi * vi;                                              \
                u[1] = c * ui + br * vi + bi * vr;                                              \
                v[0] = c * vr - br * ur - bi * ui;                                              \
                v[1] = c * vi - br * ui + bi * ur;                                              \
            }                                                                                   \
        }                                                                                       \
        free(tmp);                                                                              \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* The adjoint sweep from the output states psi and lam = dL/d(output) (both (B, N), in place:  \
   they end as the input states and dL/d(input)): grad (B, pairs) receives each pair's          \
   dL/dphi = Re <lam| dU/dphi |psi> / 2 per sample. inverses: the permutations' inverse rows. */ \
void pairs_backward_##SUFFIX(T *psi, T *lam, int64_t batch, int64_t N, const int64_t *steps,     \
                             int count, const int64_t *x, const int64_t *y, const T *phase,     \
                             const T *angles, int64_t astride, const int32_t *inverses, T *grad,\
                             int64_t pairs, int threads) {                                     \
    _Pragma("omp parallel for num_threads(threads) schedule(dynamic, 1) if(batch > 1)")        \
    for (int64_t b = 0; b < batch; b++) {                                                       \
        T *p = psi + b * 2 * N, *l = lam + b * 2 * N, *g = grad + b * pairs, *tmp = NULL;       \
        const T *phi = angles + b * astride;                                                    \
        for (int k = count - 1; k >= 0; k--) {                                                  \
            const int64_t *st = steps + 3 * k;                                                  \
            if (st[0] == 1) {                                                                   \
                if (!tmp) tmp = malloc(2 * N * sizeof(T));                                      \
                gather_pairs_##SUFFIX(p, tmp, inverses + st[1] * N, N);                         \
                gather_pairs_##SUFFIX(l, tmp, inverses + st[1] * N, N);                         \
                continue;                                                                       \
            }                                                                                   \
            for (int64_t s = st[2] - 1; s >= st[1]; s--) {                                      \
                T c = COS(phi[s] / 2), sn = SIN(phi[s] / 2), hr = phase[2 * s], hi = phase[2 * s + 1];\
                T br = sn * hr, bi = sn * hi;                                                   \
                T *u = p + 2 * x[s], *v = p + 2 * y[s], *e = l + 2 * x[s], *f = l + 2 * y[s];   \
                T qr = u[0], qi = u[1], wr = v[0], wi = v[1]; /* psi after: x, y */            \
                T pxr = c * qr - br * wr + bi * wi, pxi = c * qi - br * wi - bi * wr;           \
                T pyr = c * wr + br * qr + bi * qi, pyi = c * wi + br * qi - bi * qr;           \
                T lxr = e[0], lxi = e[1], lyr = f[0], lyi = f[1];                               \
                /* d = conj(lx) (c b py - s px) - conj(ly) (s py + c conj(b) px) */             \
                T ar = c * (hr * pyr - hi * pyi) - sn * pxr, ai = c * (hr * pyi + hi * pyr) - sn * pxi;\
                T dr = sn * pyr + c * (hr * pxr + hi * pxi), di = sn * pyi + c * (hr * pxi - hi * pxr);\
                g[s] = (lxr * ar + lxi * ai - lyr * dr - lyi * di) / 2;                         \
                u[0] = pxr; u[1] = pxi; v[0] = pyr; v[1] = pyi;                                 \
                e[0] = c * lxr - br * lyr + bi * lyi; e[1] = c * lxi - br * lyi - bi * lyr;     \
                f[0] = c * lyr + br * lxr + bi * lxi; f[1] = c * lyi + br * lxi - bi * lxr;     \
            }                                                                                   \
        }                                                                                       \
        free(tmp);                                                                              \
    }                                                                                           \
}

PAIR_KERNELS(float, f32, cosf, sinf)
PAIR_KERNELS(double, f64, cos, sin)
