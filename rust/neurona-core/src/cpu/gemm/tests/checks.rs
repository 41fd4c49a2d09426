//! The input checks (shapes, slice lengths, bias length) and the list of tested ISAs.

use super::*;
use crate::cpu::gemm::{Epilogue, MatMut, MatRef};

#[test]
#[should_panic(expected = "does not fit")]
fn gemm_rejects_a_slice_too_short_for_its_strides() {
    let a = vec![0.0f32; 11];
    let b = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    crate::cpu::gemm::sgemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&b, 4, 3),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        Epilogue::None,
    );
}

#[test]
#[should_panic(expected = "inner dimensions")]
fn gemm_rejects_mismatched_shapes() {
    let a = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    crate::cpu::gemm::sgemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&a, 3, 4),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        Epilogue::None,
    );
}

#[test]
#[should_panic(expected = "bias")]
fn gemm_rejects_a_short_bias() {
    let a = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9];
    let bias = [0.0f32; 2];
    crate::cpu::gemm::sgemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&a, 4, 3),
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        Epilogue::Bias(&bias),
    );
}

#[test]
#[should_panic(expected = "does not fit")]
fn gemm_batched_rejects_a_batch_past_the_slice() {
    let a = vec![0.0f32; 12];
    let mut c = vec![0.0f32; 9 * 2];
    crate::cpu::gemm::sgemm_batched(
        3,
        1.0,
        MatRef::row_major(&a, 3, 4),
        0,
        MatRef::row_major(&a, 4, 3),
        0,
        0.0,
        MatMut::row_major(&mut c, 3, 3),
        9,
        Epilogue::None,
    );
}

#[test]
fn gemm_every_runnable_isa_is_tested() {
    let tested: Vec<&str> = kernel_sets().iter().map(|k| k.name).collect();
    let names: Vec<&str> = available().iter().map(|k| k.name).collect();
    assert!(names.contains(&"portable"));
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(names.contains(&"avx2"), avx2);
        assert_eq!(
            names.contains(&"avx512"),
            is_x86_feature_detected!("avx512f")
        );
    }
    #[cfg(target_arch = "aarch64")]
    assert!(names.contains(&"neon"));
    assert!(names.iter().all(|n| tested.contains(n)));
}
