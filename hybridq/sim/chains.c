/* Products of parametrised one-qubit gates, and their gradients: the matrices a compiled
 * circuit hands to the fused kernels, built in one call instead of a few dozen tensor ops.
 *
 * Every angle slot s is a sum of monomials coef * w[weight] * x[b, input] (an index of -1
 * stands for the factor 1), and every one-qubit gate is in trigonometric form
 *     M(theta) = A + cos(k theta) C + sin(k theta) S
 * (RX, RY, RZ: k = 1/2, C = I, S = -i P; a phase gate: k = 1; a fixed gate: k = 0, M = A).
 * A chain is a row of slots, -1 padded, applied first to last; its product is
 *     P = M(last) ... M(first).
 * Samples are processed LANES at a time, one per lane, so every step is plain vector
 * arithmetic (sines and cosines included: Taylor polynomials after reduction by pi/2).
 *
 * Layouts (complex numbers interleaved re, im):
 *   forms   (slots, 25)                    k, then A, C, S as 2x2 complex (row major)
 *   chains  (rows, length) int32           the slots of each chain
 *   trig    (blocks, slots, 2, LANES)      cos(k theta), sin(k theta) per block of LANES
 *                                          samples, written by the forward for the backward
 *   out     (B', rows, 2, 2)               the chain products, or with lanes set, in lane blocks
 *           (blocks, rows, 8, LANES) reals  (row k: re/im of m00..m11), the fused kernels' layout
 * B' is the batch when the angles read inputs, else 1.
 *
 * The backward takes G = dL/dP (torch's convention for complex tensors: dL/dRe + i dL/dIm):
 * for P = A M B, dL/dM = A^H G B^H and dL/dtheta = Re sum(conj(dL/dM) * dM/dtheta).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16

/* pi/2 in three parts (the first two of 33 significant bits: q * part is exact for |q| < 2**20). */
#define PIO2_1 1.5707963267341256
#define PIO2_2 6.077100506303966e-11
#define PIO2_3 2.0222662487959506e-21
#define TWO_OVER_PI 0.6366197723675814
/* Beyond this the reduction loses digits; such lanes take the C library's sin and cos. */
#define REDUCED_UP_TO 1e6

/* sin and cos of x[l] for every lane: x = q pi/2 + r with |r| <= pi/4, then Taylor polynomials
   in r (terms up to r**17 and r**18: below double rounding on that interval) and the
   quadrant q mod 4. */
static void sincos_lanes(const double *x, double *s, double *c) {
    int far = 0;
    for (int l = 0; l < LANES; l++) {
        double y = x[l] * TWO_OVER_PI;
        double q = (double)(int64_t)(y + (y >= 0 ? 0.5 : -0.5));
        double r = ((x[l] - q * PIO2_1) - q * PIO2_2) - q * PIO2_3, r2 = r * r;
        double sr = r * (1 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880
                    + r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800 + r2 * (-1.0 / 1307674368000
                    + r2 * (1.0 / 355687428096000)))))))));
        double cr = 1 + r2 * (-1.0 / 2 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320
                    + r2 * (-1.0 / 3628800 + r2 * (1.0 / 479001600 + r2 * (-1.0 / 87178291200
                    + r2 * (1.0 / 20922789888000 + r2 * (-1.0 / 6402373705728000)))))))));
        int64_t k = (int64_t)q & 3;
        double sv = (k & 1) ? cr : sr, cv = (k & 1) ? sr : cr;
        s[l] = (k & 2) ? -sv : sv;
        c[l] = ((k + 1) & 2) ? -cv : cv;
        far |= fabs(x[l]) > REDUCED_UP_TO;
    }
    if (far)
        for (int l = 0; l < LANES; l++)
            if (fabs(x[l]) > REDUCED_UP_TO) { s[l] = sin(x[l]); c[l] = cos(x[l]); }
}

#define DEFINE_CHAINS(T, SUFFIX)                                                                \
                                                                                                \
/* c = a b over lanes for 2x2 complex matrices stored as [8][LANES] (re, im of m00, m01, m10,   \
   m11), a or b read conjugate-transposed where asked; c may be a or b. */                      \
static inline void product_##SUFFIX(T (*a)[LANES], T (*b)[LANES], int adjoint_a, int adjoint_b,\
                                    T (*c)[LANES]) {                                           \
    T out[8][LANES];                                                                            \
    for (int r = 0; r < 2; r++)                                                                 \
        for (int k = 0; k < 2; k++)                                                             \
            for (int l = 0; l < LANES; l++) {                                                   \
                T sr = 0, si = 0;                                                               \
                for (int j = 0; j < 2; j++) {                                                   \
                    int ia = adjoint_a ? 4 * j + 2 * r : 4 * r + 2 * j;                         \
                    int ib = adjoint_b ? 4 * k + 2 * j : 4 * j + 2 * k;                         \
                    T ar = a[ia][l], ai = adjoint_a ? -a[ia + 1][l] : a[ia + 1][l];             \
                    T br = b[ib][l], bi = adjoint_b ? -b[ib + 1][l] : b[ib + 1][l];             \
                    sr += ar * br - ai * bi;                                                    \
                    si += ar * bi + ai * br;                                                    \
                }                                                                               \
                out[4 * r + 2 * k][l] = sr;                                                     \
                out[4 * r + 2 * k + 1][l] = si;                                                 \
            }                                                                                   \
    memcpy(c, out, sizeof out);                                                                 \
}                                                                                               \
                                                                                                \
/* M = A + cos C + sin S of the form f for every lane (t: the slot's cos and sin rows). */      \
static inline void gate_##SUFFIX(const T *f, const T (*t)[LANES], T (*m)[LANES]) {             \
    for (int k = 0; k < 8; k++)                                                                 \
        for (int l = 0; l < LANES; l++) m[k][l] = f[1 + k] + t[0][l] * f[9 + k] + t[1][l] * f[17 + k];\
}                                                                                               \
                                                                                                \
/* Sample first + l's input (lanes past count repeat the last sample). */                       \
static inline T input_##SUFFIX(const T *x, int64_t first, int64_t count, int l, int64_t cols,   \
                               int32_t column) {                                               \
    return x[(first + (l < count ? l : count - 1)) * cols + column];                            \
}                                                                                               \
                                                                                                \
/* Block blk's trig rows (see the layout) and chain products. With shared (block 0's rows), the \
   slots that read no input (reads[s] == 0) are copied from it, not computed again. */           \
static void block_products_##SUFFIX(const T *w, const T *x, int64_t batch, int64_t x_cols,      \
                                    int64_t count, const int32_t *slot, const T *coef,         \
                                    const int32_t *weight, const int32_t *input, int64_t slots,\
                                    const T *forms, const int32_t *chains, int64_t rows,       \
                                    int64_t length, const char *reads, const T *shared,        \
                                    int64_t blk, T *trig, T *out, int lanes) {                 \
    int64_t first = blk * LANES, n = batch - first < LANES ? batch - first : LANES;             \
    double *theta = calloc(slots * LANES, sizeof(double)), sn[LANES], cs[LANES];                 \
    for (int64_t m = 0; m < count; m++)                                                         \
        if (!shared || reads[slot[m]])                                                          \
            for (int l = 0; l < LANES; l++) {                                                   \
                T v = coef[m];                                                                  \
                if (weight[m] >= 0) v *= w[weight[m]];                                          \
                if (input[m] >= 0) v *= input_##SUFFIX(x, first, n, l, x_cols, input[m]);      \
                theta[slot[m] * LANES + l] += v;                                                \
            }                                                                                   \
    T (*tr)[2][LANES] = (T (*)[2][LANES])(trig + blk * slots * 2 * LANES);                      \
    for (int64_t s = 0; s < slots; s++) {                                                       \
        if (shared && !reads[s]) {                                                              \
            memcpy(tr[s], shared + s * 2 * LANES, sizeof tr[s]);                                \
            continue;                                                                           \
        }                                                                                       \
        for (int l = 0; l < LANES; l++) theta[s * LANES + l] *= forms[25 * s];                  \
        sincos_lanes(theta + s * LANES, sn, cs);                                                \
        for (int l = 0; l < LANES; l++) { tr[s][0][l] = (T)cs[l]; tr[s][1][l] = (T)sn[l]; }     \
    }                                                                                           \
    free(theta);                                                                                \
    for (int64_t r = 0; r < rows; r++) {                                                        \
        T p[8][LANES] = {{0}}, m[8][LANES];                                                     \
        for (int l = 0; l < LANES; l++) p[0][l] = p[6][l] = 1;                                  \
        for (int64_t j = 0; j < length && chains[r * length + j] >= 0; j++) {                  \
            int32_t s = chains[r * length + j];                                                 \
            gate_##SUFFIX(forms + s * 25, (const T (*)[LANES])tr[s], m);                        \
            product_##SUFFIX(m, p, 0, 0, p);                                                    \
        }                                                                                       \
        if (lanes) memcpy(out + (blk * rows + r) * 8 * LANES, p, sizeof p);                     \
        else                                                                                    \
            for (int l = 0; l < n; l++)                                                         \
                for (int k = 0; k < 8; k++) out[((first + l) * rows + r) * 8 + k] = p[k][l];    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
void chain_products_##SUFFIX(const T *w, const T *x, int64_t batch, int64_t x_cols,            \
                             int64_t count, const int32_t *slot, const T *coef,                \
                             const int32_t *weight, const int32_t *input, int64_t slots,       \
                             const T *forms, const int32_t *chains, int64_t rows,              \
                             int64_t length, T *trig, T *out, int lanes, int threads) {        \
    int64_t blocks = (batch + LANES - 1) / LANES;                                               \
    char *reads = calloc(slots, 1); /* whether a slot's angle reads an input */                 \
    for (int64_t m = 0; m < count; m++) reads[slot[m]] |= input[m] >= 0;                        \
    block_products_##SUFFIX(w, x, batch, x_cols, count, slot, coef, weight, input, slots, forms, \
                            chains, rows, length, reads, NULL, 0, trig, out, lanes);            \
    _Pragma("omp parallel for num_threads(threads) if (blocks >= 4)")                          \
    for (int64_t blk = 1; blk < blocks; blk++)                                                  \
        block_products_##SUFFIX(w, x, batch, x_cols, count, slot, coef, weight, input, slots,   \
                                forms, chains, rows, length, reads, trig, blk, trig, out, lanes);\
    free(reads);                                                                                \
}                                                                                               \
                                                                                                \
/* From G = dL/dP (B', rows, 2, 2), or in lane blocks with lanes set: dL/dw (added into grad_w) and dL/dx (grad_x, B x x_cols,   \
   written; NULL when not wanted). */                                                           \
void chain_products_backward_##SUFFIX(const T *w, const T *x, int64_t batch, int64_t x_cols,   \
                                      int64_t count, const int32_t *slot, const T *coef,       \
                                      const int32_t *weight, const int32_t *input,             \
                                      int64_t slots, const T *forms, const int32_t *chains,    \
                                      int64_t rows, int64_t length, const T *trig,             \
                                      const T *grad, int lanes, T *grad_w, T *grad_x, int threads) {\
    int64_t blocks = (batch + LANES - 1) / LANES, n_w = 0;                                      \
    for (int64_t m = 0; m < count; m++) if (weight[m] >= n_w) n_w = weight[m] + 1;              \
    _Pragma("omp parallel num_threads(threads) if (blocks >= 4)")                              \
    {                                                                                           \
        T *gt = malloc(slots * LANES * sizeof(T)), *gw = calloc(n_w + 1, sizeof(T));            \
        T (*before)[8][LANES] = malloc((length + 1) * sizeof *before);                          \
        _Pragma("omp for")                                                                     \
        for (int64_t blk = 0; blk < blocks; blk++) {                                            \
            int64_t first = blk * LANES, n = batch - first < LANES ? batch - first : LANES;     \
            const T (*tr)[2][LANES] = (const T (*)[2][LANES])(trig + blk * slots * 2 * LANES);  \
            memset(gt, 0, slots * LANES * sizeof(T));                                           \
            for (int64_t r = 0; r < rows; r++) {                                                \
                int64_t len = 0;                                                                \
                while (len < length && chains[r * length + len] >= 0) len++;                    \
                T m[8][LANES], h[8][LANES], gm[8][LANES];                                       \
                memset(before[0], 0, sizeof before[0]); /* before[j] = M(j-1) ... M(0) */       \
                for (int l = 0; l < LANES; l++) before[0][0][l] = before[0][6][l] = 1;          \
                for (int64_t j = 0; j < len; j++) {                                             \
                    int32_t s = chains[r * length + j];                                         \
                    gate_##SUFFIX(forms + s * 25, tr[s], m);                                    \
                    product_##SUFFIX(m, before[j], 0, 0, before[j + 1]);                        \
                }                                                                               \
                if (lanes) memcpy(h, grad + (blk * rows + r) * 8 * LANES, sizeof h); /* h = A_j^H G */\
                else /* padding lanes get G = 0 */                                              \
                    for (int l = 0; l < LANES; l++)                                             \
                        for (int k = 0; k < 8; k++) h[k][l] = l < n ? grad[((first + l) * rows + r) * 8 + k] : 0;\
                for (int64_t j = len - 1; j >= 0; j--) {                                        \
                    int32_t s = chains[r * length + j];                                         \
                    const T *f = forms + s * 25;                                                \
                    product_##SUFFIX(h, before[j], 0, 1, gm);                                   \
                    for (int l = 0; l < LANES; l++) { /* Re conj(gm) dM, dM = k (-sin C + cos S) */\
                        T acc = 0;                                                              \
                        for (int k = 0; k < 8; k++) acc += gm[k][l] * (tr[s][0][l] * f[17 + k] - tr[s][1][l] * f[9 + k]);\
                        gt[s * LANES + l] += f[0] * acc;                                        \
                    }                                                                           \
                    gate_##SUFFIX(f, tr[s], m);                                                 \
                    product_##SUFFIX(m, h, 1, 0, h);                                            \
                }                                                                               \
            }                                                                                   \
            for (int64_t m = 0; m < count; m++)                                                 \
                for (int l = 0; l < n; l++) {                                                   \
                    T xv = input[m] >= 0 ? input_##SUFFIX(x, first, n, l, x_cols, input[m]) : 1;\
                    T wv = weight[m] >= 0 ? w[weight[m]] : 1, g = coef[m] * gt[slot[m] * LANES + l];\
                    if (weight[m] >= 0) gw[weight[m]] += g * xv;                                \
                    if (grad_x && input[m] >= 0) grad_x[(first + l) * x_cols + input[m]] += g * wv;\
                }                                                                               \
        }                                                                                       \
        _Pragma("omp critical")                                                                \
        for (int64_t i = 0; i < n_w; i++) grad_w[i] += gw[i];                                   \
        free(gt);                                                                               \
        free(gw);                                                                               \
        free(before);                                                                           \
    }                                                                                           \
}

DEFINE_CHAINS(float, f32)
DEFINE_CHAINS(double, f64)
