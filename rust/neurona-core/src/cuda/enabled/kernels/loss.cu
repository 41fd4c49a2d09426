// Cross-entropy of logits [N, C] (contiguous) against int64 class indices [N], fused with its
// log-softmax: per row, lse = log(sum(exp(x - max))) + max and loss = lse - x[target]. Rows
// whose target equals ignore_index count for nothing. An out-of-range target sets bad[0].

#define BLOCK 256

__device__ __forceinline__ float max_nan(float a, float b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return a > b ? a : b;
}

extern "C" __global__ void xent_fwd(const float* x, i64 off, const i64* t, i64 toff, float* loss,
                                    float* lse_out, float* valid, int* bad, i64 N, i64 C,
                                    i64 ignore) {
    __shared__ float m[BLOCK];
    __shared__ double s[BLOCK];
    const int th = threadIdx.x;
    for (i64 row = blockIdx.x; row < N; row += gridDim.x) {
        const float* p = x + off + row * C;
        const i64 target = t[toff + row];
        float b = p[0];
        for (i64 j = th; j < C; j += BLOCK) b = max_nan(b, p[j]);
        m[th] = b;
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (th < w) m[th] = max_nan(m[th], m[th + w]);
            __syncthreads();
        }
        const float mx = m[0];
        double acc = 0.0;
        for (i64 j = th; j < C; j += BLOCK) acc += (double)expf(p[j] - mx);
        s[th] = acc;
        __syncthreads();
        for (int w = BLOCK / 2; w > 0; w >>= 1) {
            if (th < w) s[th] += s[th + w];
            __syncthreads();
        }
        if (th == 0) {
            const float lse = logf((float)s[0]) + mx;
            lse_out[row] = lse;
            if (target == ignore) {
                loss[row] = 0.f;
                valid[row] = 0.f;
            } else if (target < 0 || target >= C) {
                loss[row] = 0.f;
                valid[row] = 0.f;
                bad[0] = 1;
            } else {
                loss[row] = lse - p[target];
                valid[row] = 1.f;
            }
        }
        __syncthreads();
    }
}

// gx[i, c] = (softmax(x)[i, c] - [c == t_i]) * g / count, 0 on ignored rows. g and count are
// 0-d device tensors (the incoming gradient and the number of counted rows).
extern "C" __global__ void xent_bwd(const float* x, i64 off, const i64* t, i64 toff,
                                    const float* lse, const float* g, const float* count,
                                    float* gx, i64 N, i64 C, i64 ignore) {
    GRID_LOOP(k, N * C) {
        const i64 row = k / C, c = k % C;
        const i64 target = t[toff + row];
        if (target == ignore || target < 0 || target >= C) {
            gx[k] = 0.f;
        } else {
            const float sm = expf(x[off + k] - lse[row]);
            gx[k] = (sm - (c == target ? 1.f : 0.f)) * (g[0] / count[0]);
        }
    }
}
