// Elementwise kernels: unary functions and their derivatives, binary arithmetic with
// broadcasting, comparisons, where, dtype casts, strided copies and fills. Operands are read
// through a Geom (so views and broadcasts need no copy); outputs are contiguous unless said.
// Each formula mirrors the CPU kernel in rust/neurona-core/src/ops/ (same branches, same NaN
// rules); the op codes are the constants in elementwise.rs.

__device__ __forceinline__ float sigmoid_f(float x) {
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    const float e = expf(x);
    return e / (1.f + e);
}

__device__ __forceinline__ float unary_f(int op, float x, float a, float b, int flags) {
    switch (op) {
    case 0: return -x;
    case 1: return expf(x);
    case 2: return logf(x);
    case 3: return sqrtf(x);
    case 4: return fabsf(x);
    case 5: return (x > 0.f || isnan(x)) ? x : 0.f; // NaN propagates, as in PyTorch
    case 6: return x > 0.f ? x : a * x;
    case 7: return sigmoid_f(x);
    case 8: return tanhf(x);
    case 9: return x > 20.f ? x : log1pf(expf(x));
    case 10: return (float)(0.5 * (double)x * erfc(-(double)x * 0.70710678118654752440));
    case 11: return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
    case 12: {
        float v = x;
        if (flags & 1) v = v < a ? a : v;
        if (flags & 2) v = v > b ? b : v;
        return v;
    }
    }
    return NEURONA_NAN;
}

// f'(x) given y = f(x).
__device__ __forceinline__ float unary_d(int op, float x, float y, float a, float b, int flags) {
    switch (op) {
    case 0: return -1.f;
    case 1: return y;
    case 2: return 1.f / x;
    case 3: return 0.5f / y;
    case 4: return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
    case 5: return (x > 0.f || isnan(x)) ? 1.f : 0.f; // PyTorch passes the grad at NaN
    case 6: return x > 0.f ? 1.f : a;
    case 7: return y * (1.f - y);
    case 8: return 1.f - y * y;
    case 9: return x > 20.f ? 1.f : sigmoid_f(x);
    case 10: {
        const double xd = (double)x;
        const double cdf = 0.5 * erfc(-xd * 0.70710678118654752440);
        const double pdf = exp(-0.5 * xd * xd) / 2.50662827463100050242;
        return (float)(cdf + xd * pdf);
    }
    case 11: return 0.f;
    case 12: {
        const bool above = !(flags & 1) || x >= a;
        const bool below = !(flags & 2) || x <= b;
        return (above && below) ? 1.f : 0.f;
    }
    }
    return NEURONA_NAN;
}

extern "C" __global__ void unary_f32(const float* x, float* y, Geom g, i64 n, int op, float a,
                                     float b, int flags) {
    GRID_LOOP(i, n) {
        i64 o[1];
        locate<1>(g, i, o);
        y[i] = unary_f(op, x[o[0]], a, b, flags);
    }
}

// gi = g * f'(x, y); x, y, g are operands 0, 1, 2.
extern "C" __global__ void unary_grad_f32(const float* x, const float* y, const float* gr,
                                          float* gi, Geom g, i64 n, int op, float a, float b,
                                          int flags) {
    GRID_LOOP(i, n) {
        i64 o[3];
        locate<3>(g, i, o);
        gi[i] = gr[o[2]] * unary_d(op, x[o[0]], y[o[1]], a, b, flags);
    }
}

extern "C" __global__ void unary_i64(const i64* x, i64* y, Geom g, i64 n, int op) {
    GRID_LOOP(i, n) {
        i64 o[1];
        locate<1>(g, i, o);
        const i64 v = x[o[0]];
        // Wrapping negation and abs, as Rust's wrapping_neg/wrapping_abs.
        const i64 neg = (i64)(0ULL - (u64)v);
        y[i] = op == 0 ? neg : (op == 4 ? (v < 0 ? neg : v) : (i64)((v > 0) - (v < 0)));
    }
}

__device__ __forceinline__ float binary_f(int op, float x, float y) {
    switch (op) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / y;
    case 4: return y == 2.f ? x * x : (y == 1.f ? x : powf(x, y));
    case 5: return (isnan(x) || isnan(y)) ? NEURONA_NAN : fmaxf(x, y);
    case 6: return (isnan(x) || isnan(y)) ? NEURONA_NAN : fminf(x, y);
    case 7: return x == 0.f ? 0.f : logf(x);
    case 8: return x > y ? 1.f : (x == y ? 0.5f : 0.f);
    case 9: return -x > -y ? 1.f : (x == y ? 0.5f : 0.f);
    case 10: return x == y ? 1.f : 0.f;
    }
    return NEURONA_NAN;
}

// out = a (op) b. scal bit 0: a is the value av (a CPU scalar), bit 1: b is bv.
extern "C" __global__ void binary_f32(const float* a, const float* b, float* out, Geom g, i64 n,
                                      int op, int scal, float av, float bv) {
    GRID_LOOP(i, n) {
        i64 o[2];
        locate<2>(g, i, o);
        const float x = (scal & 1) ? av : a[o[0]];
        const float y = (scal & 2) ? bv : b[o[1]];
        out[i] = binary_f(op, x, y);
    }
}

extern "C" __global__ void binary_i64(const i64* a, const i64* b, i64* out, Geom g, i64 n, int op,
                                      int scal, i64 av, i64 bv) {
    GRID_LOOP(i, n) {
        i64 o[2];
        locate<2>(g, i, o);
        const i64 x = (scal & 1) ? av : a[o[0]];
        const i64 y = (scal & 2) ? bv : b[o[1]];
        i64 r;
        switch (op) {
        case 0: r = (i64)((u64)x + (u64)y); break;
        case 1: r = (i64)((u64)x - (u64)y); break;
        case 2: r = (i64)((u64)x * (u64)y); break;
        case 5: r = x > y ? x : y; break;
        default: r = x < y ? x : y; break;
        }
        out[i] = r;
    }
}

// C's comparisons already give IEEE semantics: with a NaN only != is true.
template <typename T>
__device__ __forceinline__ u8 cmp(int op, T x, T y) {
    switch (op) {
    case 0: return x == y;
    case 1: return x != y;
    case 2: return x < y;
    case 3: return x <= y;
    case 4: return x > y;
    default: return x >= y;
    }
}

extern "C" __global__ void compare_f32(const float* a, const float* b, u8* out, Geom g, i64 n,
                                       int op, int scal, float av, float bv) {
    GRID_LOOP(i, n) {
        i64 o[2];
        locate<2>(g, i, o);
        out[i] = cmp<float>(op, (scal & 1) ? av : a[o[0]], (scal & 2) ? bv : b[o[1]]);
    }
}

extern "C" __global__ void compare_i64(const i64* a, const i64* b, u8* out, Geom g, i64 n, int op,
                                       int scal, i64 av, i64 bv) {
    GRID_LOOP(i, n) {
        i64 o[2];
        locate<2>(g, i, o);
        out[i] = cmp<i64>(op, (scal & 1) ? av : a[o[0]], (scal & 2) ? bv : b[o[1]]);
    }
}

// out = c ? a : b with c, a, b operands 0, 1, 2; scal bit 1: a is av, bit 2: b is bv.
extern "C" __global__ void where_f32(const u8* c, const float* a, const float* b, float* out,
                                     Geom g, i64 n, int scal, float av, float bv) {
    GRID_LOOP(i, n) {
        i64 o[3];
        locate<3>(g, i, o);
        out[i] = c[o[0]] ? ((scal & 2) ? av : a[o[1]]) : ((scal & 4) ? bv : b[o[2]]);
    }
}

// Rust's `as` from f32 to i64: NaN gives 0, out-of-range values saturate.
__device__ __forceinline__ i64 f32_to_i64(float x) {
    if (isnan(x)) return 0;
    if (x >= 9.223372036854775807e18f) return 0x7fffffffffffffffLL;
    if (x <= -9.223372036854775808e18f) return (i64)0x8000000000000000ULL;
    return (i64)x;
}

#define CAST(name, TI, TO, expr)                                            \
    extern "C" __global__ void name(const TI* x, TO* y, Geom g, i64 n) {    \
        GRID_LOOP(i, n) {                                                   \
            i64 o[1];                                                       \
            locate<1>(g, i, o);                                             \
            const TI v = x[o[0]];                                           \
            y[i] = (expr);                                                  \
        }                                                                   \
    }

CAST(cast_f32_i64, float, i64, f32_to_i64(v))
CAST(cast_f32_bool, float, u8, (u8)(v != 0.f))
CAST(cast_i64_f32, i64, float, (float)v)
CAST(cast_i64_bool, i64, u8, (u8)(v != 0))
CAST(cast_bool_f32, u8, float, v ? 1.f : 0.f)
CAST(cast_bool_i64, u8, i64, (i64)(v != 0))

// dst[dst layout] = src[src layout] (operand 0 = source, 1 = destination), one per dtype.
#define COPY(name, T)                                                       \
    extern "C" __global__ void name(const T* src, T* dst, Geom g, i64 n) {  \
        GRID_LOOP(i, n) {                                                   \
            i64 o[2];                                                       \
            locate<2>(g, i, o);                                             \
            dst[o[1]] = src[o[0]];                                          \
        }                                                                   \
    }

COPY(copy_f32, float)
COPY(copy_i64, i64)
COPY(copy_bool, u8)

extern "C" __global__ void fill_f32(float* out, i64 n, float v) {
    GRID_LOOP(i, n) { out[i] = v; }
}
