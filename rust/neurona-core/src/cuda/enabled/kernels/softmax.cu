// softmax / log_softmax over the middle axis of a contiguous float32 tensor seen as
// [outer, r, inner], and their backward. Numerically stable: the row maximum is subtracted
// before exp; the sum of exponentials accumulates in double (as the CPU's sum does).
// `*_rows` (inner == 1): one block per row, shared-memory trees in a fixed order.
// `*_cols` (inner > 1): one thread per (outer, inner) position walking r.
// Backward: softmax gx = y * (g - sum(g * y)); log_softmax gx = g - exp(y) * sum(g).

#define BLOCK 256

__device__ __forceinline__ float fmax_nan(float a, float b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a > b ? a : b;
}

extern "C" __global__ void softmax_rows(const float* x, i64 off, float* y, i64 outer, i64 r,
                                        int logmode) {
    __shared__ float m[BLOCK];
    __shared__ double s[BLOCK];
    const int t = threadIdx.x;
    for (i64 row = blockIdx.x; row < outer; row += gridDim.x) {
        const float* p = x + off + row * r;
        float* q = y + row * r;
        float b = p[0];
        for (i64 j = t; j < r; j += BLOCK) b = fmax_nan(b, p[j]);
        m[t] = b;
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (t < w) m[t] = fmax_nan(m[t], m[t + w]);
            __syncthreads();
        }
        const float mx = m[0];
        double acc = 0.0;
        for (i64 j = t; j < r; j += BLOCK) acc += (double)expf(p[j] - mx);
        s[t] = acc;
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (t < w) s[t] += s[t + w];
            __syncthreads();
        }
        const float sum = (float)s[0];
        const float lse = logf(sum);
        for (i64 j = t; j < r; j += BLOCK) {
            const float z = p[j] - mx;
            q[j] = logmode ? z - lse : expf(z) / sum;
        }
        __syncthreads();
    }
}

extern "C" __global__ void softmax_cols(const float* x, i64 off, float* y, i64 outer, i64 r,
                                        i64 inner, int logmode) {
    GRID_LOOP(k, outer * inner) {
        const i64 o = k / inner, j = k % inner;
        const float* p = x + off + o * r * inner + j;
        float* q = y + o * r * inner + j;
        float mx = p[0];
        for (i64 c = 1; c < r; ++c) mx = fmax_nan(mx, p[c * inner]);
        double acc = 0.0;
        for (i64 c = 0; c < r; ++c) acc += (double)expf(p[c * inner] - mx);
        const float sum = (float)acc;
        const float lse = logf(sum);
        for (i64 c = 0; c < r; ++c) {
            const float z = p[c * inner] - mx;
            q[c * inner] = logmode ? z - lse : expf(z) / sum;
        }
    }
}

// y: the forward output, g: the incoming gradient (both contiguous, same shape).
extern "C" __global__ void softmax_grad_rows(const float* y, const float* g, float* gx, i64 outer,
                                             i64 r, int logmode) {
    __shared__ double s[BLOCK];
    const int t = threadIdx.x;
    for (i64 row = blockIdx.x; row < outer; row += gridDim.x) {
        const float* yp = y + row * r;
        const float* gp = g + row * r;
        double acc = 0.0;
        for (i64 j = t; j < r; j += BLOCK)
            acc += logmode ? (double)gp[j] : (double)gp[j] * (double)yp[j];
        s[t] = acc;
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (t < w) s[t] += s[t + w];
            __syncthreads();
        }
        const float dot = (float)s[0];
        for (i64 j = t; j < r; j += BLOCK)
            gx[row * r + j] = logmode ? gp[j] - expf(yp[j]) * dot : yp[j] * (gp[j] - dot);
        __syncthreads();
    }
}

extern "C" __global__ void softmax_grad_cols(const float* y, const float* g, float* gx, i64 outer,
                                             i64 r, i64 inner, int logmode) {
    GRID_LOOP(k, outer * inner) {
        const i64 o = k / inner, j = k % inner;
        const i64 base = o * r * inner + j;
        double acc = 0.0;
        for (i64 c = 0; c < r; ++c) {
            const i64 at = base + c * inner;
            acc += logmode ? (double)g[at] : (double)g[at] * (double)y[at];
        }
        const float dot = (float)acc;
        for (i64 c = 0; c < r; ++c) {
            const i64 at = base + c * inner;
            gx[at] = logmode ? g[at] - expf(y[at]) * dot : y[at] * (g[at] - dot);
        }
    }
}
