/* The steps of a layer after its one-qubit gates (see hybridq/sim/layers.py): diagonals,
 * dense gates on one or two qubits under controls, permutations; on LANES samples at once in
 * the lane layout of native.c (amplitude i of lane l at re[i * LANES + l]), forward and in the
 * adjoint sweep. Included by native.c once per precision, with T and SUFFIX defined.
 *
 * A step is STEP_INTS ints (the table fused.py packs):
 *   kind (STEP_DIAGONAL, STEP_DENSE, STEP_PERMUTATION), k (qubits of the diagonal, targets of
 *   the dense gate), number of controls, the control values (bit c: control c's value),
 *   offset (complex entries into a sample's row of the step data; a permutation: its row of
 *   the index tables), whether its gradient is wanted, then up to MAX_STEP_QUBITS qubits and
 *   MAX_STEP_CONTROLS controls (qubit 0: the most significant bit of an index; qubit p of n is
 *   index bit n - 1 - p, the rule of hybridq/qubit_order.py, copied because C cannot import it);
 *   a dense step's int 8 (past its qubits): the parts of its matrix zero at every angle
 *   (MIX_REAL, MIX_CROSS; 0: none known), whose gradient sums are left out.
 * Step data: per sample (stride sstride reals; 0: shared) rows of complex numbers, a diagonal's
 * 2**k values, a dense gate's 2**k x 2**k matrix row-major (first target: most significant).
 * Consecutive diagonals run as one: their product is built as a table over all amplitudes,
 * qubit by qubit (about two complex multiplies per amplitude), and applied in one pass. */

#define STEP_FN_(name, suffix) name##_##suffix
#define STEP_FN(name, suffix) STEP_FN_(name, suffix)
#define FN(name) STEP_FN(name, SUFFIX)
typedef T FN(vec) __attribute__((vector_size(LANES * sizeof(T))));
#define V FN(vec)

/* The entries of one step's data for width lanes: e[(2 j) * width + l] = re of entry j of lane
   l's sample, e[(2 j + 1) * width + l] its im. Lanes past count repeat the last sample. */
static void FN(step_data)(const T *data, int64_t stride, int64_t first, int64_t count, int64_t offset,
                          int64_t entries, T *e, int width) {
    for (int l = 0; l < width; l++) {
        const T *row = data + (stride ? (first + (l < count ? l : count - 1)) * stride : 0) + 2 * offset;
        for (int64_t j = 0; j < entries; j++) {
            e[2 * j * width + l] = row[2 * j];
            e[(2 * j + 1) * width + l] = row[2 * j + 1];
        }
    }
}

/* Bits of index i on the step's qubits q[0..k-1] (q[0] the most significant), qubit p at index bit n - 1 - p. */
static inline int64_t FN(bits_of)(int64_t i, const int32_t *q, int k, int n) {
    int64_t j = 0;
    for (int a = 0; a < k; a++) j = (j << 1) | ((i >> (n - 1 - q[a])) & 1);
    return j;
}

/* The table (tr, ti) of the product of the diagonal steps s[0 .. count-1] (each STEP_INTS ints)
   over all N amplitudes, width lanes innermost (1: the first sample's, for data shared by the
   batch); conjugated if adjoint. Built over qubits 0, 1, ...: the table of the first q + 1
   qubits from that of the first q, times the diagonals whose last qubit is q. e: scratch for
   the steps' data. */
static void FN(diagonal_table)(const int32_t *s, int count, int n, const T *data, int64_t stride,
                               int64_t first, int64_t nsamples, T *tr, T *ti, T *e, int adjoint, int width) {
    size_t row = width * sizeof(T);
    for (int l = 0; l < width; l++) { tr[l] = 1; ti[l] = 0; }
    for (int q = 0; q < n; q++) {
        int64_t size = (int64_t)1 << q; /* entries so far: qubits 0 .. q-1 */
        for (int64_t y = size - 1; y >= 0; y--)
            for (int b = 1; b >= 0; b--) {
                memmove(tr + (2 * y + b) * width, tr + y * width, row);
                memmove(ti + (2 * y + b) * width, ti + y * width, row);
            }
        /* the steps ending at qubit q: index bits of qubit p at q - p in the table of q + 1 qubits */
        for (int t = 0; t < count; t++) {
            const int32_t *st = s + t * STEP_INTS;
            int k = st[1], last = 0;
            for (int a = 0; a < k; a++) last = st[6 + a] > last ? st[6 + a] : last;
            if (last != q) continue;
            FN(step_data)(data, stride, first, nsamples, st[4], (int64_t)1 << k, e, width);
            for (int64_t y = 0; y < 2 * size; y++) {
                int64_t j = FN(bits_of)(y, st + 6, k, q + 1);
                const T *dr = e + 2 * j * width, *di = e + (2 * j + 1) * width;
                T *xr = tr + y * width, *xi = ti + y * width;
                for (int l = 0; l < width; l++) {
                    T ur = dr[l], ui = adjoint ? -di[l] : di[l];
                    T r = xr[l] * ur - xi[l] * ui;
                    xi[l] = xr[l] * ui + xi[l] * ur;
                    xr[l] = r;
                }
            }
        }
    }
}

/* The end (exclusive) of the run of diagonal steps that starts at step a, before b: a run's
   first step has int 13 set (Python marks them; runs never cross layers). */
static int FN(diagonal_run)(const int32_t *steps, int a, int b) {
    int e = a + 1;
    while (e < b && steps[e * STEP_INTS] == STEP_DIAGONAL && !steps[e * STEP_INTS + 13]) e++;
    return e;
}

/* (re, im) *= the one-lane table (tr, ti) (conjugated if adjoint), the same for every lane. */
static void FN(times_shared)(T *restrict re, T *restrict im, const T *restrict tr, const T *restrict ti, int64_t N,
                             int adjoint) {
    T sign = adjoint ? -1 : 1;
    for (int64_t i = 0; i < N; i++) {
        T ur = tr[i], ui = sign * ti[i];
        T *xr = re + i * LANES, *xi = im + i * LANES;
        for (int l = 0; l < LANES; l++) {
            T r = xr[l] * ur - xi[l] * ui;
            xi[l] = xr[l] * ui + xi[l] * ur;
            xr[l] = r;
        }
    }
}

/* The one-lane tables of the diagonal runs whose data the batch shares (their first step's
   int 12: the table's number, -1: per sample), into shared (2 N reals each). */
static void FN(shared_tables)(const int32_t *steps, int total, int n, const T *data, T *shared, T *e) {
    int64_t N = (int64_t)1 << n;
    for (int s = 0; s < total;) {
        if (steps[s * STEP_INTS] != STEP_DIAGONAL) { s++; continue; }
        int end = FN(diagonal_run)(steps, s, total);
        int at = steps[s * STEP_INTS + 12];
        if (at >= 0) FN(diagonal_table)(steps + s * STEP_INTS, end - s, n, data, 0, 0, 1, shared + 2 * N * at,
                                        shared + 2 * N * at + N, e, 0, 1);
        s = end;
    }
}

/* (re, im) *= (tr, ti) amplitude by amplitude. */
static void FN(times_table)(T *restrict re, T *restrict im, const T *restrict tr, const T *restrict ti, int64_t N) {
    for (int64_t i = 0; i < N * LANES; i++) {
        T r = re[i] * tr[i] - im[i] * ti[i];
        im[i] = re[i] * ti[i] + im[i] * tr[i];
        re[i] = r;
    }
}

/* A dense step on a tile: the amplitudes o | x for x over the submasks of the tile's bits F
   (o: the bits outside F, fixed). The step's groups there: bases o | set | x (set: the control
   values) for x over the submasks of free (F less the step's bits); the 2**k row offsets of a
   group (first target the most significant). Returns 0 when the tile holds none of them (a
   control outside F is off there: the step leaves the whole tile as it is). */
static int FN(dense_groups)(const int32_t *st, int n, int64_t F, int64_t o, int64_t *free, int64_t *set,
                            int64_t *rows) {
    int k = st[1], nc = st[2];
    int64_t used = 0, controls = 0;
    *set = 0;
    for (int a = 0; a < k; a++) used |= (int64_t)1 << (n - 1 - st[6 + a]);
    for (int c = 0; c < nc; c++) {
        controls |= (int64_t)1 << (n - 1 - st[12 + c]);
        if ((st[3] >> c) & 1) *set |= (int64_t)1 << (n - 1 - st[12 + c]);
    }
    *free = F & ~(used | controls);
    for (int64_t r = 0; r < ((int64_t)1 << k); r++) {
        rows[r] = 0;
        for (int a = 0; a < k; a++)
            if ((r >> (k - 1 - a)) & 1) rows[r] |= (int64_t)1 << (n - 1 - st[6 + a]);
    }
    return (o & controls & ~F) == (*set & ~F);
}

/* The submask of free after x (in increasing order; 0 after the last). */
static inline int64_t FN(next_group)(int64_t x, int64_t free) { return (x - free) & free; }

/* Dense steps work on whole lane rows held as vectors (V: LANES reals, GNU vector extension):
   the accumulators and matrix entries stay in registers rather than in per-lane arrays. */
static inline V FN(vload)(const T *p) {
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void FN(vstore)(T *p, V v) { memcpy(p, &v, sizeof v); }

/* Out lane j = the sum of v[j]'s LANES (16) lanes: a 16 x 16 transpose folded into the sums,
   four rounds of two-source shuffles and adds (each round halves the partial sums per vector). */
#if defined(__clang__)
#define LANE_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define LANE_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (FN(lane_index)){__VA_ARGS__})
#endif
typedef T_INDEX FN(lane_index) __attribute__((vector_size(LANES * sizeof(T))));
static inline V FN(lane_sums)(const V *v) {
    V u[8], x[4], y[2];
    for (int k = 0; k < 8; k++)
        u[k] = LANE_SHUFFLE(v[2 * k], v[2 * k + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
             + LANE_SHUFFLE(v[2 * k], v[2 * k + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    for (int k = 0; k < 4; k++)
        x[k] = LANE_SHUFFLE(u[2 * k], u[2 * k + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
             + LANE_SHUFFLE(u[2 * k], u[2 * k + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    for (int k = 0; k < 2; k++)
        y[k] = LANE_SHUFFLE(x[2 * k], x[2 * k + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29)
             + LANE_SHUFFLE(x[2 * k], x[2 * k + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    return LANE_SHUFFLE(y[0], y[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
         + LANE_SHUFFLE(y[0], y[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}
#undef LANE_SHUFFLE

/* The lanes' K x K matrix of e (entry j at rows 2 j, 2 j + 1 of LANES) as vectors, conjugate
   transposed if adjoint. */
static inline __attribute__((always_inline)) void FN(lane_matrix)(const T *e, int K, int adjoint, V *mr, V *mi) {
    for (int r = 0; r < K; r++)
        for (int c = 0; c < K; c++) {
            int at = adjoint ? c * K + r : r * K + c;
            mr[r * K + c] = FN(vload)(e + 2 * at * LANES);
            mi[r * K + c] = adjoint ? -FN(vload)(e + (2 * at + 1) * LANES) : FN(vload)(e + (2 * at + 1) * LANES);
        }
}

/* Which parts of a 2 x 2 matrix are zero in every lane: MIX_REAL every imaginary part (RY, H,
   CRY), MIX_CROSS the diagonal's imaginary and the off-diagonal's real parts (RX, CRX, Y; the
   blocks of RXX, RYY); else MIX_DENSE. M^H has M's pattern. Half the multiply-adds of MIX_DENSE.
   As a dense step's int 8, for two targets MIX_CROSS also means that only the diagonal and the
   anti-diagonal are not zero (pair_partner's form with f = 3, blocks of MIX_CROSS). */
#ifndef HYBRIDQ_MIX_PATTERNS
#define HYBRIDQ_MIX_PATTERNS
enum { MIX_DENSE = 0, MIX_REAL = 1, MIX_CROSS = 2 };
#endif
static int FN(zero_pattern)(const V *mr, const V *mi) {
    V zero = {0};
    __typeof__(zero == zero) imag = (mi[0] != zero) | (mi[1] != zero) | (mi[2] != zero) | (mi[3] != zero);
    __typeof__(zero == zero) cross = (mi[0] != zero) | (mi[3] != zero) | (mr[1] != zero) | (mr[2] != zero);
    int real = 1, crossed = 1;
    for (int l = 0; l < LANES; l++) { real &= !imag[l]; crossed &= !cross[l]; }
    return real ? MIX_REAL : crossed ? MIX_CROSS : MIX_DENSE;
}

/* (xr, xi) <- M (xr, xi) for K rows held as vectors (M: mr, mi, K x K; pattern: the parts of M
   known zero, whose terms are left out). Inlined where K and pattern are constants, so that the
   loops unroll and the sums stay in registers. */
static inline __attribute__((always_inline)) void FN(mix_values)(V *xr, V *xi, int K, const V *mr, const V *mi,
                                                                 const int pattern) {
    V yr[4], yi[4];
    for (int r = 0; r < K; r++) {
        int started = 0;
        for (int c = 0; c < K; c++) { /* one term at a time: each a fused multiply-add */
            V a = mr[r * K + c], b = mi[r * K + c];
            if (pattern != MIX_CROSS || c == r) {
                if (started) { yr[r] += a * xr[c]; yi[r] += a * xi[c]; }
                else { yr[r] = a * xr[c]; yi[r] = a * xi[c]; }
                started = 1;
            }
            if (pattern == MIX_DENSE || (pattern == MIX_CROSS && c != r)) {
                if (started) { yr[r] -= b * xi[c]; yi[r] += b * xr[c]; }
                else { yr[r] = -(b * xi[c]); yi[r] = b * xr[c]; }
                started = 1;
            }
        }
    }
    for (int r = 0; r < K; r++) { xr[r] = yr[r]; xi[r] = yi[r]; }
}

/* The K rows base | rows[r] of (re, im) as vectors, and back. */
static inline __attribute__((always_inline)) void FN(load_rows)(const T *re, const T *im, int64_t base,
                                                                const int64_t *rows, int K, V *xr, V *xi) {
    for (int c = 0; c < K; c++) {
        xr[c] = FN(vload)(re + (base | rows[c]) * LANES);
        xi[c] = FN(vload)(im + (base | rows[c]) * LANES);
    }
}

static inline __attribute__((always_inline)) void FN(store_rows)(T *re, T *im, int64_t base, const int64_t *rows,
                                                                 int K, const V *xr, const V *xi) {
    for (int c = 0; c < K; c++) {
        FN(vstore)(re + (base | rows[c]) * LANES, xr[c]);
        FN(vstore)(im + (base | rows[c]) * LANES, xi[c]);
    }
}

/* v <- M v on the K rows base | rows[r] of (re, im), see mix_values. */
static inline __attribute__((always_inline)) void FN(mix_rows)(T *re, T *im, int64_t base, const int64_t *rows, int K,
                                                               const V *mr, const V *mi, const int pattern) {
    V xr[4], xi[4];
    FN(load_rows)(re, im, base, rows, K, xr, xi);
    FN(mix_values)(xr, xi, K, mr, mi, pattern);
    FN(store_rows)(re, im, base, rows, K, xr, xi);
}

/* For a two-target matrix whose entries (r, c) are zero in every lane unless c is r or r ^ f
   (an XX, YY or XY rotation: it only mixes the row pairs (r, r ^ f)), f; else 0. */
static int FN(pair_partner)(const V *mr, const V *mi) {
    V zero = {0};
    for (int f = 1; f < 4; f++) {
        __typeof__(zero == zero) nonzero = zero != zero;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                if (c != r && c != (r ^ f)) nonzero |= (mr[4 * r + c] != zero) | (mi[4 * r + c] != zero);
        int found = 1;
        for (int l = 0; l < LANES; l++) found &= !nonzero[l];
        if (found) return f;
    }
    return 0;
}

/* Block p of such a matrix (f): its rows a, b = a ^ f, and its entries' places 4 r + c, row-major. */
static inline void FN(block_entries)(int f, int p, int *a, int *b, int at[4]) {
    *a = p == 0 ? 0 : f == 1 ? 2 : 1;
    *b = *a ^ f;
    at[0] = 5 * *a; at[1] = 4 * *a + *b; at[2] = 4 * *b + *a; at[3] = 5 * *b;
}

/* Such a matrix as two 2 x 2 blocks (b: 8 entries, block p at 4 p) on the row pairs prows[p]. */
static inline __attribute__((always_inline)) void FN(pair_blocks)(const V *mr, const V *mi, const int64_t *rows, int f, V *br, V *bi, int64_t prows[2][2]) {
    for (int p = 0; p < 2; p++) {
        int a, b, at[4];
        FN(block_entries)(f, p, &a, &b, at);
        prows[p][0] = rows[a];
        prows[p][1] = rows[b];
        for (int k = 0; k < 4; k++) { br[4 * p + k] = mr[at[k]]; bi[4 * p + k] = mi[at[k]]; }
    }
}

/* A dense step's form: the parts known zero of a 2 x 2 matrix (zero_pattern), or for a 4 x 4
   one f of pair_partner << 2 and the parts zero in both its blocks; found once per run of
   steps (e: the lanes' matrices). */
static int FN(dense_form)(const int32_t *st, const T *e) {
    V mr[16], mi[16], br[8], bi[8];
    int64_t rows[4] = {0}, prows[2][2];
    int K = 1 << st[1];
    FN(lane_matrix)(e, K, 0, mr, mi);
    if (K == 2) return FN(zero_pattern)(mr, mi);
    int f = FN(pair_partner)(mr, mi);
    if (!f) return 0;
    FN(pair_blocks)(mr, mi, rows, f, br, bi, prows);
    int p0 = FN(zero_pattern)(br, bi), p1 = FN(zero_pattern)(br + 4, bi + 4);
    return f << 2 | (p0 == p1 ? p0 : MIX_DENSE);
}

/* A dense step's matrices as its sweeps use them (see mix_group): the lanes' K x K matrices
   (conjugate transposed if adjoint: M^H has M's form), and a 4 x 4 one's blocks where it has
   pair_blocks' form. */
typedef struct {
    V mr[16], mi[16], br[8], bi[8];
    int64_t rows[4], prows[2][2];
    int K, pattern, f;
} FN(Mix);

static inline __attribute__((always_inline)) void FN(mix_of)(const T *e, const int64_t *rows, int K, int adjoint, int form, FN(Mix) *m) {
    m->K = K;
    FN(lane_matrix)(e, K, adjoint, m->mr, m->mi);
    memcpy(m->rows, rows, sizeof m->rows);
    m->pattern = form & 3;
    m->f = form >> 2;
    if (m->f) FN(pair_blocks)(m->mr, m->mi, rows, m->f, m->br, m->bi, m->prows);
}

/* v <- M v on the group at base of (re, im): K and pattern as m's, constants where inlined
   (a 4 x 4 matrix of pair_blocks' form: the two blocks, half the work; pattern: theirs). */
static inline __attribute__((always_inline)) void FN(mix_group)(T *re, T *im, int64_t base, const FN(Mix) *m,
                                                                const int K, const int pattern) {
    if (K == 4 && m->f) {
        FN(mix_rows)(re, im, base, m->prows[0], 2, m->br, m->bi, pattern);
        FN(mix_rows)(re, im, base, m->prows[1], 2, m->br + 4, m->bi + 4, pattern);
    } else
        FN(mix_rows)(re, im, base, m->rows, K, m->mr, m->mi, pattern);
}

/* v <- M v on the step's groups in a tile (bases o | x for x over the submasks of free). */
static inline __attribute__((always_inline)) void FN(mix_groups)(T *restrict re, T *restrict im, int64_t o, int64_t free,
                                                                 const FN(Mix) *m, const int K, const int pattern) {
    int64_t x = 0;
    do {
        FN(mix_group)(re, im, o | x, m, K, pattern);
        x = FN(next_group)(x, free);
    } while (x);
}

/* A dense step (its lanes' matrices in e, its form) on the tile (F, o) of (re, im), see dense_groups. */
static void FN(dense_apply)(const int32_t *st, int n, int64_t F, int64_t o, T *re, T *im, const T *e, int form) {
    int64_t free, set, rows[4];
    if (!FN(dense_groups)(st, n, F, o, &free, &set, rows)) return;
    FN(Mix) m;
    FN(mix_of)(e, rows, 1 << st[1], 0, form, &m);
    o |= set;
    if (m.K == 4 && m.f && m.pattern == MIX_CROSS) FN(mix_groups)(re, im, o, free, &m, 4, MIX_CROSS);
    else if (m.K == 4 && m.f && m.pattern == MIX_REAL) FN(mix_groups)(re, im, o, free, &m, 4, MIX_REAL);
    else if (m.K == 4) FN(mix_groups)(re, im, o, free, &m, 4, MIX_DENSE);
    else if (m.pattern == MIX_REAL) FN(mix_groups)(re, im, o, free, &m, 2, MIX_REAL);
    else if (m.pattern == MIX_CROSS) FN(mix_groups)(re, im, o, free, &m, 2, MIX_CROSS);
    else FN(mix_groups)(re, im, o, free, &m, 2, MIX_DENSE);
}

/* Groups of a dense step's adjoint handled together: their rows (4 arrays) stay in the L1 cache
   across the sweeps over them. */
#define DENSE_TILE 32

/* psi (pr, pi) and lam (gr, gi) un-computed on the group at base by M^H (m), from psi's rows
   (xr, xi) and lam's first have rows (ur, ui) already loaded: every row is loaded before any is
   stored (a store then a load 4 KiB apart, as the arrays lie, stalls). */
static inline __attribute__((always_inline)) void FN(uncompute_group)(T *restrict pr_, T *restrict pi_, T *restrict gr,
                                                                      T *restrict gi, int64_t base, const FN(Mix) *m,
                                                                      V *xr, V *xi, V *ur, V *ui, int have,
                                                                      const int K, const int pattern) {
    if (K == 4 && m->f) {
        FN(mix_group)(pr_, pi_, base, m, K, pattern);
        FN(mix_group)(gr, gi, base, m, K, pattern);
        return;
    }
    if (have < K) FN(load_rows)(gr, gi, base, m->rows, K, ur, ui);
    FN(mix_values)(xr, xi, K, m->mr, m->mi, pattern);
    FN(mix_values)(ur, ui, K, m->mr, m->mi, pattern);
    FN(store_rows)(pr_, pi_, base, m->rows, K, xr, xi);
    FN(store_rows)(gr, gi, base, m->rows, K, ur, ui);
}

/* A dense step's adjoint on the tile (F, o): where its gradient is wanted, S[r][c] += sum over
   its groups of lam_r conj(psi_c) (both after the step) into S (2 K K rows of LANES: re, im of
   entry K r + c), only the parts that sums names (MIX_DENSE: all; MIX_REAL, MIX_CROSS: those
   that zero_pattern's pattern keeps, the others left as they are); then psi and lam un-computed
   by the adjoint of the lanes' matrices e. In chunks of DENSE_TILE groups: the sums of
   8 / (2 K) rows of S per sweep over the chunk (in registers), the last sweep also un-computing. */
static inline __attribute__((always_inline)) void FN(dense_backward_k)(const int32_t *st, int64_t o, int64_t free,
                                                                       T *restrict pr_, T *restrict pi_, T *restrict gr,
                                                                       T *restrict gi, const FN(Mix) *m, T *S,
                                                                       const int K, const int pattern, const int sums) {
    int block = 4 / K;
    V xr[4], xi[4], ur[4], ui[4]; /* psi's rows; lam's (those of the sums, all when un-computing) */
    if (!st[5]) { /* no gradient wanted: un-computed only */
        int64_t x = 0;
        do {
            if (!(K == 4 && m->f)) FN(load_rows)(pr_, pi_, o | x, m->rows, K, xr, xi);
            FN(uncompute_group)(pr_, pi_, gr, gi, o | x, m, xr, xi, ur, ui, 0, K, pattern);
            x = FN(next_group)(x, free);
        } while (x);
        return;
    }
    int64_t x0 = 0, x = 0;
    do {
        for (int r0 = 0; r0 < K; r0 += block) {
            V acc[8];
            for (int c = 0; c < 8; c++) acc[c] = FN(vload)(S + (2 * r0 * K + c) * LANES);
            x = x0;
            for (int g = 0; g < DENSE_TILE; g++) {
                int64_t base = o | x;
                FN(load_rows)(pr_, pi_, base, m->rows, K, xr, xi);
                FN(load_rows)(gr, gi, base, m->rows + r0, block, ur, ui);
                /* a one-target step's rows stay as loaded (registers): else GCC folds loads of them
                   again into the multiply-adds, after the un-computing's stores (the half sums of
                   f32 measured 27% slower without this) */
                if (K == 2) __asm__ volatile("" ::: "memory");
                for (int r = 0; r < block; r++)
                    for (int c = 0; c < K; c++) {
                        int diagonal = r0 + r == c;
                        if (sums != MIX_CROSS || diagonal) {
                            acc[2 * (r * K + c)] += ur[r] * xr[c];
                            acc[2 * (r * K + c)] += ui[r] * xi[c];
                        }
                        if (sums == MIX_DENSE || (sums == MIX_CROSS && !diagonal)) {
                            acc[2 * (r * K + c) + 1] += ui[r] * xr[c];
                            acc[2 * (r * K + c) + 1] -= ur[r] * xi[c];
                        }
                    }
                if (r0 + block == K) FN(uncompute_group)(pr_, pi_, gr, gi, base, m, xr, xi, ur, ui, block, K, pattern);
                x = FN(next_group)(x, free);
                if (!x) break;
            }
            for (int c = 0; c < 8; c++) FN(vstore)(S + (2 * r0 * K + c) * LANES, acc[c]);
        }
        x0 = x;
    } while (x0);
}

/* The adjoint on the tile (F, o) of a two-target step whose gradient is wanted and whose int 8
   is MIX_CROSS (RXX, RYY; m: f = 3, blocks of MIX_CROSS): each block, on its row pairs, as a
   one-target step of RX's pattern (half its sums): of S only Re S[r][r] and Im S[r][r ^ 3]. */
static inline __attribute__((always_inline)) void FN(dense_backward_blocks)(const int32_t *st, int64_t o, int64_t free,
                                                                            T *pr, T *pi, T *gr, T *gi,
                                                                            const FN(Mix) *m, T *S) {
    for (int p = 0; p < 2; p++) {
        FN(Mix) block = {.K = 2, .pattern = MIX_CROSS};
        T Sb[8 * LANES];
        int a, b, at[4];
        FN(block_entries)(m->f, p, &a, &b, at);
        memcpy(block.mr, m->br + 4 * p, sizeof(V) * 4);
        memcpy(block.mi, m->bi + 4 * p, sizeof(V) * 4);
        memcpy(block.rows, m->prows[p], sizeof m->prows[p]);
        for (int k = 0; k < 4; k++) memcpy(Sb + 2 * k * LANES, S + 2 * at[k] * LANES, 2 * LANES * sizeof(T));
        FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &block, Sb, 2, MIX_CROSS, MIX_CROSS);
        for (int k = 0; k < 4; k++) memcpy(S + 2 * at[k] * LANES, Sb + 2 * k * LANES, 2 * LANES * sizeof(T));
    }
}

/* Where a step's matrix has parts zero at every angle (int 8) and its gradient is wanted, the
   matrix and its derivatives keep that pattern, and so does the part of dL/dM = S M they read:
   only the pattern's parts of S are summed (half the sums; a quarter for RXX, RYY),
   and the un-computing takes the pattern too (the values have it, whatever zero_pattern and
   pair_partner found in them). */
static void FN(dense_backward)(const int32_t *st, int n, int64_t F, int64_t o, T *pr, T *pi, T *gr, T *gi,
                               const T *e, int form, T *S) {
    int64_t free, set, rows[4];
    if (!FN(dense_groups)(st, n, F, o, &free, &set, rows)) return;
    int K = 1 << st[1], zeros = st[5] ? st[8] : MIX_DENSE;
    FN(Mix) m;
    FN(mix_of)(e, rows, K, 1, K == 4 && zeros == MIX_CROSS ? 3 << 2 | MIX_CROSS : form, &m);
    o |= set;
    if (K == 4 && zeros == MIX_CROSS) FN(dense_backward_blocks)(st, o, free, pr, pi, gr, gi, &m, S);
    else if (K == 4 && zeros == MIX_REAL) FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 4, MIX_REAL, MIX_REAL);
    else if (K == 4) FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 4, MIX_DENSE, MIX_DENSE);
    else if (zeros == MIX_REAL) FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 2, MIX_REAL, MIX_REAL);
    else if (zeros == MIX_CROSS) FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 2, MIX_CROSS, MIX_CROSS);
    else if (m.pattern == MIX_REAL) FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 2, MIX_REAL, MIX_DENSE);
    else if (m.pattern == MIX_CROSS) FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 2, MIX_CROSS, MIX_DENSE);
    else FN(dense_backward_k)(st, o, free, pr, pi, gr, gi, &m, S, 2, MIX_DENSE, MIX_DENSE);
}

/* From BLOCKED_FROM qubits, runs of dense steps go tile by tile (2**BLOCK_BITS amplitudes, each
   tile in the L2 cache for the whole run) rather than as one sweep over the state per step: a
   run's steps have their targets' bits below BLOCK_BITS (their controls anywhere: where one
   outside the tile is off, the step skips the tile). Smaller states stay in the L2 cache whole:
   every dense step is one sweep (L1-sized tiles measured 5% slower at 10 qubits). Whether step
   st goes in such a run: */
static int FN(tiled)(const int32_t *st, int n) {
    if (st[0] != STEP_DENSE) return 0;
    for (int a = 0; a < st[1] && n >= BLOCKED_FROM; a++) if (n - 1 - st[6 + a] >= BLOCK_BITS) return 0;
    return 1;
}

/* The run of dense steps from s (the direction dir: 1 forward, -1 backward) before the end
   stop (exclusive): returns where it stops (s + dir for a step that is not tiled, a whole
   sweep; at most DENSE_RUN steps), its tiles' bits in *F. */
static int FN(dense_run)(const int32_t *steps, int s, int stop, int dir, int n, int64_t *F) {
    int e = s + dir;
    *F = ((int64_t)1 << n) - 1;
    if (!FN(tiled)(steps + s * STEP_INTS, n)) return e;
    while (e != stop && (e - s) * dir < DENSE_RUN && FN(tiled)(steps + e * STEP_INTS, n)) e += dir;
    if (n >= BLOCKED_FROM) *F = ((int64_t)1 << BLOCK_BITS) - 1;
    return e;
}

/* rows of (re, im) gathered through index into (tr, ti), then copied back. */
static void FN(permute_lanes)(T *re, T *im, const int32_t *index, int64_t N, T *tr, T *ti) {
    for (int64_t i = 0; i < N; i++) {
        memcpy(tr + i * LANES, re + (int64_t)index[i] * LANES, LANES * sizeof(T));
        memcpy(ti + i * LANES, im + (int64_t)index[i] * LANES, LANES * sizeof(T));
    }
    memcpy(re, tr, N * LANES * sizeof(T));
    memcpy(im, ti, N * LANES * sizeof(T));
}

/* Steps a .. b-1 on (re, im): buffers t (2 N LANES) and e (the steps' data); shared: the
   one-lane tables of shared_tables. */
static void FN(steps_forward)(const int32_t *steps, int a, int b, int n, T *re, T *im, const T *data,
                              int64_t stride, int64_t first, int64_t count, const int32_t *perms, const T *shared,
                              T *t, T *e) {
    int64_t N = (int64_t)1 << n, NL = N * LANES;
    for (int s = a; s < b;) {
        const int32_t *st = steps + s * STEP_INTS;
        if (st[0] == STEP_DIAGONAL) {
            int end = FN(diagonal_run)(steps, s, b);
            if (st[12] >= 0)
                FN(times_shared)(re, im, shared + 2 * N * st[12], shared + 2 * N * st[12] + N, N, 0);
            else {
                FN(diagonal_table)(st, end - s, n, data, stride, first, count, t, t + NL, e, 0, LANES);
                FN(times_table)(re, im, t, t + NL, N);
            }
            s = end;
            continue;
        }
        if (st[0] == STEP_DENSE) { /* a run (see dense_run): the data of all its steps in e */
            int64_t F;
            int end = FN(dense_run)(steps, s, b, 1, n, &F), forms[DENSE_RUN];
            for (int u = s; u < end; u++) {
                T *eu = e + (u - s) * 32 * LANES;
                FN(step_data)(data, stride, first, count, steps[u * STEP_INTS + 4], (int64_t)1 << (2 * steps[u * STEP_INTS + 1]),
                              eu, LANES);
                forms[u - s] = FN(dense_form)(steps + u * STEP_INTS, eu);
            }
            for (int64_t o = 0; o < N; o += F + 1)
                for (int u = s; u < end; u++)
                    FN(dense_apply)(steps + u * STEP_INTS, n, F, o, re, im, e + (u - s) * 32 * LANES, forms[u - s]);
            s = end;
            continue;
        } else
            FN(permute_lanes)(re, im, perms + (int64_t)st[4] * N, N, t, t + NL);
        s++;
    }
}

/* Gradient of step data: lane l's (re, im) of entry j in g (rows 2j, 2j + 1 of LANES) times the
   step's value e (same layout) when times, written to sample first + l's row of grad. */
static void FN(store_step_grad)(T *grad, int64_t gstride, int64_t first, int64_t count, int64_t offset,
                                int64_t entries, const T *g) {
    for (int l = 0; l < count; l++)
        for (int64_t j = 0; j < entries; j++) {
            grad[(first + l) * gstride + 2 * (offset + j)] = g[2 * j * LANES + l];
            grad[(first + l) * gstride + 2 * (offset + j) + 1] = g[(2 * j + 1) * LANES + l];
        }
}

/* The sums of w = (wr, wi) over the classes of a diagonal step on one or two qubits (x: re, im
   of class j at 2 j, 2 j + 1), from the vectorised sums of w, w b_a, w b_b and w b_a b_b (b_q:
   qubit q's bit of the index); N >= LANES. */
static void FN(pair_bins)(const T *wr, const T *wi, int64_t N, int n, const int32_t *st, T *x) {
    int k = st[1], sa = n - 1 - st[6], sb = k == 2 ? n - 1 - st[7] : sa;
    T acc[8][LANES]; /* re, im of: all, a set, b set, both set */
    memset(acc, 0, sizeof acc);
    for (int64_t i0 = 0; i0 < N; i0 += LANES)
        for (int l = 0; l < LANES; l++) {
            int64_t i = i0 + l;
            T ba = (T)((i >> sa) & 1), bb = (T)((i >> sb) & 1), r = wr[i], m = wi[i];
            acc[0][l] += r; acc[1][l] += m;
            acc[2][l] += ba * r; acc[3][l] += ba * m;
            acc[4][l] += bb * r; acc[5][l] += bb * m;
            acc[6][l] += ba * bb * r; acc[7][l] += ba * bb * m;
        }
    for (int h = LANES / 2; h > 0; h /= 2)
        for (int c = 0; c < 8; c++)
            for (int l = 0; l < h; l++) acc[c][l] += acc[c][l + h];
    for (int c = 0; c < 2; c++) { /* c: re, im */
        T all = acc[c][0], a = acc[2 + c][0], b = acc[4 + c][0], ab = acc[6 + c][0];
        if (k == 1) { x[c] = all - a; x[2 + c] = a; continue; }
        x[c] = all - a - b + ab; x[2 + c] = b - ab; x[4 + c] = a - ab; x[6 + c] = ab;
    }
}

/* The adjoint sweep of steps a .. b-1 in reverse: each wanted step's gradient into grad (rows of
   gstride reals per sample), then psi (pr, pi) and lam (gr, gi), both after the step, un-computed.
   Buffers t (2 N LANES), e (the steps' data), acc (the gradient sums). */
static void FN(steps_backward)(const int32_t *steps, int a, int b, int n, T *pr, T *pi, T *gr, T *gi,
                               const T *data, int64_t stride, int64_t first, int64_t count,
                               const int32_t *inverses, const T *shared, T *grad, int64_t gstride, T *t, T *e,
                               T *acc) {
    int64_t N = (int64_t)1 << n, NL = N * LANES;
    for (int s = b - 1; s >= a;) {
        const int32_t *st = steps + s * STEP_INTS;
        if (st[0] == STEP_DIAGONAL) {
            int start = s;
            while (start > a && !steps[start * STEP_INTS + 13]) start--;
            /* sums of w = lam conj(psi) over each wanted diagonal's classes (w is the same before) */
            int64_t used = 0, wanted = 0;
            for (int u = start; u <= s; u++) {
                const int32_t *su = steps + u * STEP_INTS;
                if (su[5]) wanted += (int64_t)2 << su[1];
            }
            const int32_t *s0 = steps + start * STEP_INTS;
            if (wanted && s0[12] >= 0) { /* data shared by the batch: the sums over the lanes first */
                T *wr = t, *wi = t + N;
                const T *tr = shared + 2 * N * s0[12], *ti = tr + N;
                V mask;
                for (int l = 0; l < LANES; l++) mask[l] = l < count; /* lanes past count repeat a sample */
                int64_t i0 = 0;
                for (; i0 + LANES <= N; i0 += LANES) { /* and psi, lam un-computed in the same sweep */
                    V vr[LANES], vi[LANES];
                    for (int64_t i = i0; i < i0 + LANES; i++) {
                        T *xr = pr + i * LANES, *xi = pi + i * LANES, *yr = gr + i * LANES, *yi = gi + i * LANES;
                        V ar = FN(vload)(xr), ai = FN(vload)(xi), br = FN(vload)(yr), bi = FN(vload)(yi);
                        vr[i - i0] = mask * (br * ar + bi * ai);
                        vi[i - i0] = mask * (bi * ar - br * ai);
                        T ur = tr[i], ui = -ti[i];
                        FN(vstore)(xr, ar * ur - ai * ui);
                        FN(vstore)(xi, ar * ui + ai * ur);
                        FN(vstore)(yr, br * ur - bi * ui);
                        FN(vstore)(yi, br * ui + bi * ur);
                    }
                    FN(vstore)(wr + i0, FN(lane_sums)(vr));
                    FN(vstore)(wi + i0, FN(lane_sums)(vi));
                }
                for (int64_t i = i0; i < N; i++) { /* fewer amplitudes than lanes */
                    wr[i] = wi[i] = 0;
                    for (int l = 0; l < count; l++) {
                        int64_t x = i * LANES + l;
                        wr[i] += gr[x] * pr[x] + gi[x] * pi[x];
                        wi[i] += gi[x] * pr[x] - gr[x] * pi[x];
                    }
                }
                if (i0 < N) {
                    FN(times_shared)(pr + i0 * LANES, pi + i0 * LANES, tr + i0, ti + i0, N - i0, 1);
                    FN(times_shared)(gr + i0 * LANES, gi + i0 * LANES, tr + i0, ti + i0, N - i0, 1);
                }
                for (int u = start; u <= s; u++) {
                    const int32_t *su = steps + u * STEP_INTS;
                    if (!su[5]) continue;
                    int64_t entries = (int64_t)1 << su[1];
                    T *x = acc;
                    if (su[1] <= 2 && N >= LANES) FN(pair_bins)(wr, wi, N, n, su, x);
                    else {
                        memset(x, 0, 2 * entries * sizeof(T));
                        for (int64_t i = 0; i < N; i++) {
                            int64_t j = FN(bits_of)(i, su + 6, su[1], n);
                            x[2 * j] += wr[i];
                            x[2 * j + 1] += wi[i];
                        }
                    }
                    FN(step_data)(data, stride, first, 1, su[4], entries, e, 1);
                    for (int64_t j = 0; j < entries; j++) { /* dL/dd_j = d_j sum_j, in sample first's row */
                        T dr = e[2 * j], di = e[2 * j + 1], xr = x[2 * j], xi = x[2 * j + 1];
                        grad[first * gstride + 2 * (su[4] + j)] = dr * xr - di * xi;
                        grad[first * gstride + 2 * (su[4] + j) + 1] = dr * xi + di * xr;
                    }
                }
            } else if (wanted) {
                memset(acc, 0, wanted * LANES * sizeof(T));
                for (int64_t i = 0; i < N; i++) {
                    T wr[LANES], wi[LANES];
                    for (int l = 0; l < LANES; l++) {
                        wr[l] = gr[i * LANES + l] * pr[i * LANES + l] + gi[i * LANES + l] * pi[i * LANES + l];
                        wi[l] = gi[i * LANES + l] * pr[i * LANES + l] - gr[i * LANES + l] * pi[i * LANES + l];
                    }
                    used = 0;
                    for (int u = start; u <= s; u++) {
                        const int32_t *su = steps + u * STEP_INTS;
                        if (!su[5]) continue;
                        T *x = acc + (used + 2 * FN(bits_of)(i, su + 6, su[1], n)) * LANES;
                        for (int l = 0; l < LANES; l++) { x[l] += wr[l]; x[LANES + l] += wi[l]; }
                        used += (int64_t)2 << su[1];
                    }
                }
                used = 0;
                for (int u = start; u <= s; u++) { /* dL/dd_j = d_j sum_j */
                    const int32_t *su = steps + u * STEP_INTS;
                    if (!su[5]) continue;
                    int64_t entries = (int64_t)1 << su[1];
                    FN(step_data)(data, stride, first, count, su[4], entries, e, LANES);
                    T *x = acc + used * LANES;
                    for (int64_t j = 0; j < entries; j++)
                        for (int l = 0; l < LANES; l++) {
                            T dr = e[2 * j * LANES + l], di = e[(2 * j + 1) * LANES + l];
                            T xr = x[2 * j * LANES + l], xi = x[(2 * j + 1) * LANES + l];
                            x[2 * j * LANES + l] = dr * xr - di * xi;
                            x[(2 * j + 1) * LANES + l] = dr * xi + di * xr;
                        }
                    FN(store_step_grad)(grad, gstride, first, count, su[4], entries, x);
                    used += 2 * entries;
                }
            }
            if (s0[12] >= 0 && !wanted) {
                const T *tr = shared + 2 * N * s0[12], *ti = tr + N;
                FN(times_shared)(pr, pi, tr, ti, N, 1);
                FN(times_shared)(gr, gi, tr, ti, N, 1);
            } else if (s0[12] < 0) {
                FN(diagonal_table)(s0, s + 1 - start, n, data, stride, first, count, t, t + NL, e, 1, LANES);
                FN(times_table)(pr, pi, t, t + NL, N);
                FN(times_table)(gr, gi, t, t + NL, N);
            }
            s = start - 1;
            continue;
        }
        if (st[0] == STEP_DENSE) { /* a run (see dense_run) backwards: data in e, sums S in acc */
            int64_t F;
            int start = FN(dense_run)(steps, s, a - 1, -1, n, &F) + 1, forms[DENSE_RUN];
            for (int u = start; u <= s; u++) {
                T *eu = e + (u - start) * 32 * LANES;
                FN(step_data)(data, stride, first, count, steps[u * STEP_INTS + 4], (int64_t)1 << (2 * steps[u * STEP_INTS + 1]),
                              eu, LANES);
                forms[u - start] = FN(dense_form)(steps + u * STEP_INTS, eu);
            }
            memset(acc, 0, (size_t)(s - start + 1) * 32 * LANES * sizeof(T));
            for (int64_t o = 0; o < N; o += F + 1)
                for (int u = s; u >= start; u--)
                    FN(dense_backward)(steps + u * STEP_INTS, n, F, o, pr, pi, gr, gi, e + (u - start) * 32 * LANES,
                                       forms[u - start], acc + (u - start) * 32 * LANES);
            for (int u = start; u <= s; u++) { /* dL/dM = S M */
                const int32_t *su = steps + u * STEP_INTS;
                T G[32 * LANES];
                const T *S = acc + (u - start) * 32 * LANES, *M = e + (u - start) * 32 * LANES;
                int K = 1 << su[1];
                if (!su[5]) continue;
                for (int r = 0; r < K; r++)
                    for (int c = 0; c < K; c++) {
                        V sr = {0}, si = {0};
                        for (int j = 0; j < K; j++) {
                            V ar = FN(vload)(S + 2 * (r * K + j) * LANES), ai = FN(vload)(S + (2 * (r * K + j) + 1) * LANES);
                            V mr = FN(vload)(M + 2 * (j * K + c) * LANES), mi = FN(vload)(M + (2 * (j * K + c) + 1) * LANES);
                            sr += ar * mr - ai * mi;
                            si += ar * mi + ai * mr;
                        }
                        FN(vstore)(G + 2 * (r * K + c) * LANES, sr);
                        FN(vstore)(G + (2 * (r * K + c) + 1) * LANES, si);
                    }
                FN(store_step_grad)(grad, gstride, first, count, su[4], (int64_t)K * K, G);
            }
            s = start - 1;
            continue;
        } else {
            FN(permute_lanes)(pr, pi, inverses + (int64_t)st[4] * N, N, t, t + NL);
            FN(permute_lanes)(gr, gi, inverses + (int64_t)st[4] * N, N, t, t + NL);
        }
        s--;
    }
}

#undef FN
#undef V
