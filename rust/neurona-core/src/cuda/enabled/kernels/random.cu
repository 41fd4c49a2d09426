// Dropout masks drawn on the device: a counter-based generator (splitmix64 of seed and element
// index), so each element's draw depends only on (seed, i) and the mask is the same for any
// launch shape. The seed comes from neurona's global generator, so manual_seed reproduces it.

__device__ __forceinline__ u64 mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// out[i] = scale with probability 1 - p, else 0. The uniform has 24 bits, as on the CPU.
extern "C" __global__ void dropout_mask(float* out, i64 n, u64 seed, float p, float scale) {
    GRID_LOOP(i, n) {
        const u64 z = mix64(seed + ((u64)i + 1ULL) * 0x9E3779B97F4A7C15ULL);
        const float u = (float)(z >> 40) * (1.0f / 16777216.0f);
        out[i] = u >= p ? scale : 0.f;
    }
}
