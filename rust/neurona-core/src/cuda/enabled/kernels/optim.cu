// Fused optimizer updates: one pass over a parameter, its gradient and its state per step,
// following PyTorch's published update rules (torch.optim docs) term for term. All buffers are
// contiguous and of the same length; scalars that depend on the step (bias corrections) are
// computed on the host in double precision.

__device__ __forceinline__ float grad_at(const float* g, const float* p, i64 i, float wd,
                                         int maximize) {
    float d = maximize ? -g[i] : g[i];
    if (wd != 0.f) d += wd * p[i];
    return d;
}

extern "C" __global__ void sgd_f32(float* p, const float* g, i64 n, float lr, float wd,
                                   int maximize) {
    GRID_LOOP(i, n) { p[i] -= lr * grad_at(g, p, i, wd, maximize); }
}

// buf = first ? d : momentum * buf + (1 - dampening) * d; step = nesterov ? d + momentum * buf : buf
extern "C" __global__ void sgd_momentum_f32(float* p, const float* g, float* buf, i64 n, float lr,
                                            float wd, float momentum, float dampening,
                                            int nesterov, int first, int maximize) {
    GRID_LOOP(i, n) {
        const float d = grad_at(g, p, i, wd, maximize);
        const float b = first ? d : momentum * buf[i] + (1.f - dampening) * d;
        buf[i] = b;
        p[i] -= lr * (nesterov ? d + momentum * b : b);
    }
}

// Adam (decoupled = 0) and AdamW (decoupled = 1). bc1 = 1 - beta1^t, sbc2 = sqrt(1 - beta2^t).
// vmax is read and written only when amsgrad is set (pass v's buffer otherwise).
__device__ __forceinline__ void adam_one(float* p, const float* g, float* m, float* v, float* vmax,
                                         i64 i, float lr, float b1, float b2, float eps, float wd,
                                         int decoupled, int amsgrad, float bc1, float sbc2,
                                         int maximize) {
    float d = maximize ? -g[i] : g[i];
    float w = p[i];
    if (decoupled) w *= 1.f - lr * wd;
    else if (wd != 0.f) d += wd * w;
    const float mi = b1 * m[i] + (1.f - b1) * d;
    const float vi = b2 * v[i] + (1.f - b2) * d * d;
    m[i] = mi;
    v[i] = vi;
    float vh = vi;
    if (amsgrad) {
        vh = fmaxf(vmax[i], vi);
        vmax[i] = vh;
    }
    const float denom = sqrtf(vh) / sbc2 + eps;
    p[i] = w - (lr / bc1) * mi / denom;
}

extern "C" __global__ void adam_f32(float* p, const float* g, float* m, float* v, i64 n, float lr,
                                    float b1, float b2, float eps, float wd, int decoupled,
                                    float bc1, float sbc2, int maximize) {
    GRID_LOOP(i, n) { adam_one(p, g, m, v, v, i, lr, b1, b2, eps, wd, decoupled, 0, bc1, sbc2, maximize); }
}

extern "C" __global__ void adam_amsgrad_f32(float* p, const float* g, float* m, float* v,
                                            float* vmax, i64 n, float lr, float b1, float b2,
                                            float eps, float wd, int decoupled, float bc1,
                                            float sbc2, int maximize) {
    GRID_LOOP(i, n) { adam_one(p, g, m, v, vmax, i, lr, b1, b2, eps, wd, decoupled, 1, bc1, sbc2, maximize); }
}

// RMSprop (not centered): v = alpha v + (1 - alpha) d^2; step = d / (sqrt(v) + eps), through a
// momentum buffer when momentum > 0.
extern "C" __global__ void rmsprop_f32(float* p, const float* g, float* v, i64 n, float lr,
                                       float alpha, float eps, float wd, int maximize) {
    GRID_LOOP(i, n) {
        const float d = grad_at(g, p, i, wd, maximize);
        const float vi = alpha * v[i] + (1.f - alpha) * d * d;
        v[i] = vi;
        p[i] -= lr * d / (sqrtf(vi) + eps);
    }
}

extern "C" __global__ void rmsprop_momentum_f32(float* p, const float* g, float* v, float* buf,
                                                i64 n, float lr, float alpha, float eps, float wd,
                                                float momentum, int maximize) {
    GRID_LOOP(i, n) {
        const float d = grad_at(g, p, i, wd, maximize);
        const float vi = alpha * v[i] + (1.f - alpha) * d * d;
        v[i] = vi;
        const float b = momentum * buf[i] + d / (sqrtf(vi) + eps);
        buf[i] = b;
        p[i] -= lr * b;
    }
}

// Adagrad: sum += d^2; p -= clr * d / (sqrt(sum) + eps), clr = lr / (1 + (t - 1) lr_decay).
extern "C" __global__ void adagrad_f32(float* p, const float* g, float* sum, i64 n, float clr,
                                       float eps, float wd, int maximize) {
    GRID_LOOP(i, n) {
        const float d = grad_at(g, p, i, wd, maximize);
        const float s = sum[i] + d * d;
        sum[i] = s;
        p[i] -= clr * d / (sqrtf(s) + eps);
    }
}
