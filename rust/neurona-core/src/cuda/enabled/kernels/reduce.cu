// Reductions of a contiguous float32 tensor seen as [outer, r, inner] over its middle axis:
// sum (accumulated in double, as on the CPU), max, min, argmax, argmin.
//
// `*_rows` (inner == 1): one block of BLOCK threads per output; each thread strides over the
// row, then a shared-memory tree combines the partials in a fixed order, so results are the
// same on every run. `*_cols` (inner > 1): one thread per output walking r in order, so
// neighbouring threads read neighbouring addresses; this is the CPU's order exactly.
// kind: 0 sum, 1 max, 2 min. NaN wins every max/min, as on the CPU.

#define BLOCK 256

__device__ __forceinline__ float pick(int kind, float best, float v) {
    if (isnan(best)) return best;
    if (isnan(v)) return v;
    return kind == 1 ? (v > best ? v : best) : (v < best ? v : best);
}

extern "C" __global__ void reduce_rows_f32(const float* x, i64 off, float* out, i64 outer, i64 r,
                                           int kind) {
    __shared__ double acc[BLOCK];
    __shared__ float best[BLOCK];
    for (i64 row = blockIdx.x; row < outer; row += gridDim.x) {
        const float* p = x + off + row * r;
        const int t = threadIdx.x;
        if (kind == 0) {
            double s = 0.0;
            for (i64 j = t; j < r; j += BLOCK) s += (double)p[j];
            acc[t] = s;
        } else {
            float b = p[0];
            for (i64 j = t; j < r; j += BLOCK) b = pick(kind, b, p[j]);
            best[t] = b;
        }
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (t < w) {
                if (kind == 0) acc[t] += acc[t + w];
                else best[t] = pick(kind, best[t], best[t + w]);
            }
            __syncthreads();
        }
        if (t == 0) out[row] = kind == 0 ? (float)acc[0] : best[0];
        __syncthreads();
    }
}

extern "C" __global__ void reduce_cols_f32(const float* x, i64 off, float* out, i64 outer, i64 r,
                                           i64 inner, int kind) {
    GRID_LOOP(k, outer * inner) {
        const i64 o = k / inner, j = k % inner;
        const float* p = x + off + o * r * inner + j;
        if (kind == 0) {
            double s = 0.0;
            for (i64 q = 0; q < r; ++q) s += (double)p[q * inner];
            out[k] = (float)s;
        } else {
            float b = p[0];
            for (i64 q = 1; q < r; ++q) b = pick(kind, b, p[q * inner]);
            out[k] = b;
        }
    }
}

// Does (v, i) beat (b, bi)? The CPU rule: the first NaN wins, else the first extremum.
__device__ __forceinline__ bool beats(bool largest, float v, i64 i, float b, i64 bi) {
    const bool vn = isnan(v), bn = isnan(b);
    if (vn || bn) return vn && (!bn || i < bi);
    if (v == b) return i < bi;
    return largest ? v > b : v < b;
}

extern "C" __global__ void argext_rows(const float* x, i64 off, i64* out, i64 outer, i64 r,
                                       int largest) {
    __shared__ float bv[BLOCK];
    __shared__ i64 bi[BLOCK];
    for (i64 row = blockIdx.x; row < outer; row += gridDim.x) {
        const float* p = x + off + row * r;
        const int t = threadIdx.x;
        float b = NEURONA_NAN;
        i64 idx = -1;
        for (i64 j = t; j < r; j += BLOCK) {
            if (idx < 0 || beats(largest, p[j], j, b, idx)) {
                b = p[j];
                idx = j;
            }
        }
        bv[t] = b;
        bi[t] = idx;
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (t < w && bi[t + w] >= 0 &&
                (bi[t] < 0 || beats(largest, bv[t + w], bi[t + w], bv[t], bi[t]))) {
                bv[t] = bv[t + w];
                bi[t] = bi[t + w];
            }
            __syncthreads();
        }
        if (t == 0) out[row] = bi[0];
        __syncthreads();
    }
}

extern "C" __global__ void argext_cols(const float* x, i64 off, i64* out, i64 outer, i64 r,
                                       i64 inner, int largest) {
    GRID_LOOP(k, outer * inner) {
        const i64 o = k / inner, j = k % inner;
        const float* p = x + off + o * r * inner + j;
        float b = p[0];
        i64 idx = 0;
        for (i64 q = 1; q < r; ++q) {
            if (isnan(b)) break;
            const float v = p[q * inner];
            if (isnan(v) || (largest ? v > b : v < b)) {
                b = v;
                idx = q;
            }
        }
        out[k] = idx;
    }
}
