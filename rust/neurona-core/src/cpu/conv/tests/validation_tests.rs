//! The geometry constructors reject nonsense with `Error::Value` messages naming what was
//! expected and what was given.

use crate::cpu::conv::{same_padding, AdaptivePool2dGeom, Conv2dGeom, Conv2dParams, Pool2dGeom};
use crate::error::Error;

fn conv_err(input: [usize; 4], weight: [usize; 4], bias: Option<usize>, p: Conv2dParams) -> String {
    match Conv2dGeom::new(input, weight, bias, p) {
        Err(Error::Value(m)) => m,
        other => panic!("expected Error::Value for {input:?} {weight:?} {p:?}, got {other:?}"),
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} should mention {p:?}");
    }
}

#[test]
fn conv_rejects_bad_shapes_and_params() {
    let d = Conv2dParams::default();
    let m = conv_err([1, 3, 8, 8], [4, 2, 3, 3], None, d);
    assert_mentions(&m, &["C_in/groups", "3", "[4, 2, 3, 3]"]);
    let m = conv_err([1, 3, 2, 2], [4, 3, 3, 3], None, d);
    assert_mentions(&m, &["larger than the padded input", "3x3", "2x2"]);
    let m = conv_err(
        [1, 3, 4, 4],
        [4, 3, 3, 3],
        None,
        Conv2dParams {
            dilation: (2, 2),
            ..d
        },
    );
    assert_mentions(&m, &["dilated to 5x5", "4x4"]);
    let m = conv_err(
        [1, 6, 8, 8],
        [4, 2, 3, 3],
        None,
        Conv2dParams { groups: 4, ..d },
    );
    assert_mentions(&m, &["input channels 6", "groups=4"]);
    let m = conv_err(
        [1, 6, 8, 8],
        [4, 2, 3, 3],
        None,
        Conv2dParams { groups: 3, ..d },
    );
    assert_mentions(&m, &["output channels 4", "groups=3"]);
    let m = conv_err(
        [1, 3, 8, 8],
        [4, 3, 3, 3],
        None,
        Conv2dParams {
            stride: (0, 1),
            ..d
        },
    );
    assert_mentions(&m, &["stride", "(0, 1)"]);
    let m = conv_err(
        [1, 3, 8, 8],
        [4, 3, 3, 3],
        None,
        Conv2dParams {
            dilation: (1, 0),
            ..d
        },
    );
    assert_mentions(&m, &["dilation"]);
    let m = conv_err(
        [1, 3, 8, 8],
        [4, 3, 3, 3],
        None,
        Conv2dParams { groups: 0, ..d },
    );
    assert_mentions(&m, &["groups"]);
    let m = conv_err([1, 3, 8, 8], [4, 3, 3, 3], Some(3), d);
    assert_mentions(&m, &["bias", "4", "3"]);
    let m = conv_err([1, 0, 8, 8], [4, 0, 3, 3], None, d);
    assert_mentions(&m, &["[1, 0, 8, 8]"]);
    let m = conv_err([1, 3, 8, 8], [4, 3, 0, 3], None, d);
    assert_mentions(&m, &["[4, 3, 0, 3]"]);
    // Padding can rescue a kernel larger than the raw input.
    assert!(Conv2dGeom::new(
        [1, 3, 2, 2],
        [4, 3, 3, 3],
        None,
        Conv2dParams {
            padding: (1, 1),
            ..d
        }
    )
    .is_ok());
}

#[test]
fn same_padding_resolves_or_explains() {
    assert_eq!(same_padding(3, 1, 1), Ok(1));
    assert_eq!(same_padding(5, 2, 1), Ok(4));
    assert_eq!(same_padding(1, 1, 1), Ok(0));
    let Err(Error::Value(m)) = same_padding(3, 1, 2) else {
        panic!("stride 2 must fail")
    };
    assert_mentions(&m, &["stride"]);
    let Err(Error::Value(m)) = same_padding(4, 1, 1) else {
        panic!("even kernel must fail")
    };
    assert_mentions(&m, &["asymmetric", "kernel=4"]);
    // 'same' really keeps the size.
    let p = same_padding(5, 3, 1).unwrap();
    let g = Conv2dGeom::new(
        [1, 1, 13, 13],
        [1, 1, 5, 5],
        None,
        Conv2dParams {
            padding: (p, p),
            dilation: (3, 3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((g.out_h, g.out_w), (13, 13));
}

#[test]
fn pool_rejects_bad_params() {
    let msg = |r: crate::error::Result<Pool2dGeom>| match r {
        Err(Error::Value(m)) => m,
        other => panic!("expected Error::Value, got {other:?}"),
    };
    assert_mentions(
        &msg(Pool2dGeom::new([1, 1, 4, 4], (0, 2), (1, 1), (0, 0))),
        &["kernel_size", "(0, 2)"],
    );
    assert_mentions(
        &msg(Pool2dGeom::new([1, 1, 4, 4], (2, 2), (1, 0), (0, 0))),
        &["stride", "(1, 0)"],
    );
    assert_mentions(
        &msg(Pool2dGeom::new([1, 1, 4, 4], (2, 2), (2, 2), (2, 0))),
        &["half of kernel_size", "(2, 0)"],
    );
    assert_mentions(
        &msg(Pool2dGeom::new([1, 1, 2, 2], (3, 3), (1, 1), (0, 0))),
        &["larger than the padded input", "2x2"],
    );
    assert_mentions(
        &msg(Pool2dGeom::new([1, 1, 0, 4], (1, 1), (1, 1), (0, 0))),
        &["[1, 1, 0, 4]"],
    );
    assert!(
        matches!(AdaptivePool2dGeom::new([1, 1, 4, 4], (0, 2)), Err(Error::Value(m)) if m.contains("output_size"))
    );
    assert!(
        matches!(AdaptivePool2dGeom::new([1, 0, 4, 4], (2, 2)), Err(Error::Value(m)) if m.contains("[1, 0, 4, 4]"))
    );
    let g = Pool2dGeom::new([2, 3, 7, 7], (3, 3), (2, 2), (1, 1)).unwrap();
    assert_eq!(g.output_shape(), [2, 3, 4, 4]);
}
