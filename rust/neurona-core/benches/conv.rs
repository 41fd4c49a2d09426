//! conv2d and max_pool2d kernels on the three benchmark layers (see benches/conv_torch.py for
//! the same shapes in PyTorch and NumPy): forward, forward+backward (grad input, weight and
//! bias), and 2x2 max pooling of each layer's output. Runs on rayon's global pool, which uses
//! every core unless RAYON_NUM_THREADS says otherwise.
//!
//! `cargo bench -p neurona-core --bench conv [-- FILTER]`

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use neurona_core::cpu::conv::{
    conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward, Conv2dGeom,
    Conv2dGrads, Conv2dParams, Pool2dGeom,
};

/// (name, batch, c_in, h, w, c_out): every layer is a 3x3 convolution with padding 1.
const LAYERS: [(&str, usize, usize, usize, usize, usize); 3] = [
    ("mnist_1x28x28_to_32", 64, 1, 28, 28, 32),
    ("mid_32x14x14_to_64", 64, 32, 14, 14, 64),
    ("wide_64x56x56_to_64", 32, 64, 56, 56, 64),
];

/// Deterministic values in [-1, 1) without a dependency.
fn data(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn bench_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, n, ci, h, w, co) in LAYERS {
        let p = Conv2dParams {
            padding: (1, 1),
            ..Default::default()
        };
        let g = Conv2dGeom::new([n, ci, h, w], [co, ci, 3, 3], Some(co), p).expect("valid layer");
        let x = data(g.input_len(), 1);
        let wt: Vec<f32> = data(g.weight_len(), 2).iter().map(|v| v * 0.1).collect();
        let b = data(co, 3);
        let go = data(g.output_len(), 4);
        // The kernels take their outputs as possibly uninitialised buffers.
        let buf = |n: usize| vec![MaybeUninit::new(0.0f32); n];
        let (mut out, mut gi, mut gw, mut gb) = (
            buf(g.output_len()),
            buf(g.input_len()),
            buf(g.weight_len()),
            buf(co),
        );

        group.bench_function(format!("{name}/conv_fwd"), |bch| {
            bch.iter(|| conv2d_forward(&g, black_box(&x), &wt, Some(&b), &mut out))
        });
        group.bench_function(format!("{name}/conv_fwd_bwd"), |bch| {
            bch.iter(|| {
                conv2d_forward(&g, black_box(&x), &wt, Some(&b), &mut out);
                let grads = Conv2dGrads {
                    input: Some(&mut gi),
                    weight: Some(&mut gw),
                    bias: Some(&mut gb),
                };
                conv2d_backward(&g, &x, &wt, black_box(&go), grads);
            })
        });

        let pg = Pool2dGeom::new(g.output_shape(), (2, 2), (2, 2), (0, 0)).expect("valid pool");
        conv2d_forward(&g, &x, &wt, Some(&b), &mut out);
        // SAFETY: initialised from the start (and written again by the forward pass).
        let out: Vec<f32> = out.iter().map(|v| unsafe { v.assume_init() }).collect();
        let gp = data(pg.output_len(), 5);
        group.bench_function(format!("{name}/maxpool2_fwd"), |bch| {
            bch.iter(|| max_pool2d_forward(&pg, black_box(&out)))
        });
        group.bench_function(format!("{name}/maxpool2_fwd_bwd"), |bch| {
            bch.iter(|| {
                let (_, idx) = max_pool2d_forward(&pg, black_box(&out));
                max_pool2d_backward(&pg, black_box(&gp), &idx)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_layers);
criterion_main!(benches);
