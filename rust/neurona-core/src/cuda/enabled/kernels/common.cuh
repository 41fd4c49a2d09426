// Shared by every module (prepended to each source before NVRTC compiles it): integer types,
// the strided-geometry argument and grid-stride loops. No #include: NVRTC needs no headers.

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define NEURONA_NAN __int_as_float(0x7fc00000)
#define MAX_DIMS 8

// Up to three operands seen through one shape: element i (row-major over `shape`) of operand k
// lives at off[k] + sum_d index_d * st[k][d]. Mirrors `Geom` in geom.rs byte for byte.
struct Geom {
    i64 shape[MAX_DIMS];
    i64 st[3][MAX_DIMS];
    i64 off[3];
    int ndim;
    int pad;
};

template <int N>
__device__ __forceinline__ void locate(const Geom& g, i64 i, i64 (&o)[N]) {
#pragma unroll
    for (int k = 0; k < N; ++k) o[k] = g.off[k];
    if (g.ndim == 1) {
#pragma unroll
        for (int k = 0; k < N; ++k) o[k] += i * g.st[k][0];
        return;
    }
    for (int d = g.ndim - 1; d >= 0; --d) {
        const i64 s = g.shape[d];
        const i64 q = i % s;
        i /= s;
#pragma unroll
        for (int k = 0; k < N; ++k) o[k] += q * g.st[k][d];
    }
}

#define GRID_LOOP(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)
