//! `StreamedB`: rows written in order, in pieces of any size, with the finished K blocks
//! multiplied after each piece, give bitwise the product of B packed whole; and it refuses
//! writes that would overwrite a block not multiplied yet.

use super::*;
use crate::cpu::gemm::prepacked::PackedB;
use crate::cpu::gemm::streamed::StreamedB;
use crate::cpu::gemm::Epilogue;

#[test]
fn streamed_b_matches_the_whole_product_bitwise() {
    for ks in kernel_sets() {
        let mut rng = Rng(41);
        // (rows of A, k, n, rows per write): the LSTM's weight gradient (161 x 512, k = 50
        // steps of 64), a write larger than a K block, single rows, one block only, a
        // partial last panel.
        for &(m, k, n, piece) in &[
            (161, 3200, 512, 64),
            (13, 1029, 21, 7),
            (9, 700, 40, 300),
            (5, 90, 17, 1),
            (30, 40, 33, 40),
        ] {
            let a = Mat::new(&mut rng, m, k, Layout::ColMajor, 0.0);
            let b = Mat::new(&mut rng, k, n, Layout::RowMajor, 0.0);
            let c0 = Mat::new(&mut rng, m, n, Layout::RowMajor, f32::NAN);
            let mut whole = c0.clone();
            let pb = PackedB::with_kernels(ks, b.r());
            crate::cpu::gemm::sgemm_packed_b_on(-0.5, a.r(), &pb, 0.0, whole.w(), Epilogue::None);
            let mut c = c0.clone();
            let mut s = StreamedB::with_kernels(ks, k, n, piece);
            for r0 in (0..k).step_by(piece) {
                let r1 = (r0 + piece).min(k);
                assert!(!s.finished());
                s.write(&b.buf[r0 * n..r1 * n]);
                s.multiply_ready(-0.5, a.r(), c.w());
            }
            assert!(s.finished());
            assert!(
                bits(&c.buf) == bits(&whole.buf),
                "{} {m}x{n}x{k} in pieces of {piece}: differs from one product",
                ks.name
            );
        }
    }
}

#[test]
#[should_panic(expected = "not multiplied")]
fn streamed_b_refuses_to_overwrite_a_block_not_multiplied() {
    let (k, n) = (4000, 8);
    let mut s = StreamedB::new(k, n, 10);
    // Without multiply_ready between them the writes soon reach a slot still in use.
    for _ in 0..k / 10 {
        s.write(&[1.0; 80]);
    }
}

#[test]
#[should_panic(expected = "past row")]
fn streamed_b_refuses_rows_past_k() {
    let mut s = StreamedB::new(3, 2, 4);
    s.write(&[0.0; 8]);
}
