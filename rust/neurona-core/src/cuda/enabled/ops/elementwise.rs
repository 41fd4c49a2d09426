//! Elementwise ops on GPU tensors: unary functions and their derivatives, binary arithmetic
//! with broadcasting, comparisons, where, dtype casts. Inputs are read through their strides
//! (views and broadcasts need no copy); outputs are new contiguous tensors. The kernels are in
//! kernels/elementwise.cu; the op codes below are the `case` labels there.

use super::launch;
use crate::autograd::BackwardOp;
use crate::cuda::common::ZipKind;
use crate::cuda::enabled::device::Gpu;
use crate::cuda::enabled::geom::Geom;
use crate::cuda::enabled::launch as cfg;
use crate::cuda::enabled::storage::{alloc, common_gpu, gpu_of, wrap, CudaStorage, Reads};
use crate::ops::binary::BinaryOp;
use crate::ops::compare::CmpOp;
use crate::ops::sum_to_shape;
use crate::ops::unary::Unary;
use crate::tensor::{broadcast_shapes, DType, Layout, Tensor};
use crate::{bail, Result};
use cudarc::driver::CudaSlice;

/// (code, a, b, flags) of a unary op: a and b carry leaky_relu's slope and clamp's bounds,
/// flags which clamp bounds are set.
fn unary_code(op: Unary) -> (i32, f32, f32, i32) {
    match op {
        Unary::Neg => (0, 0.0, 0.0, 0),
        Unary::Exp => (1, 0.0, 0.0, 0),
        Unary::Log => (2, 0.0, 0.0, 0),
        Unary::Sqrt => (3, 0.0, 0.0, 0),
        Unary::Abs => (4, 0.0, 0.0, 0),
        Unary::Relu => (5, 0.0, 0.0, 0),
        Unary::LeakyRelu(a) => (6, a, 0.0, 0),
        Unary::Sigmoid => (7, 0.0, 0.0, 0),
        Unary::Tanh => (8, 0.0, 0.0, 0),
        Unary::Softplus => (9, 0.0, 0.0, 0),
        Unary::Gelu => (10, 0.0, 0.0, 0),
        Unary::Sign => (11, 0.0, 0.0, 0),
        Unary::Clamp(lo, hi) => (
            12,
            lo.unwrap_or(0.0),
            hi.unwrap_or(0.0),
            lo.is_some() as i32 | (hi.is_some() as i32) << 1,
        ),
    }
}

fn binary_code(op: BinaryOp) -> i32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Pow => 4,
        BinaryOp::Maximum => 5,
        BinaryOp::Minimum => 6,
    }
}

fn zip_code(kind: ZipKind) -> i32 {
    match kind {
        ZipKind::LnOrZero => 7,
        ZipKind::MaxWeight => 8,
        ZipKind::MinWeight => 9,
        ZipKind::EqMask => 10,
    }
}

fn cmp_code(op: CmpOp) -> i32 {
    match op {
        CmpOp::Eq => 0,
        CmpOp::Ne => 1,
        CmpOp::Lt => 2,
        CmpOp::Le => 3,
        CmpOp::Gt => 4,
        CmpOp::Ge => 5,
    }
}

/// f(x) for a GPU tensor (float32 for every op; int64 for neg, abs and sign).
pub fn unary(x: &Tensor, op: Unary) -> Result<Tensor> {
    let g = gpu_of(x)?;
    let (n, shape) = (x.numel(), x.shape());
    let (code, a, b, flags) = unary_code(op);
    let n64 = n as i64;
    let geom = Geom::new(shape, &[x.layout()])?;
    let r = Reads::new(&[x]);
    match x.dtype() {
        DType::F32 => {
            let mut out = alloc::<f32>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "unary_f32",
                    cfg::elems(n),
                    [r.f32(0)?, &mut out, &geom, &n64, &code, &a, &b, &flags]
                )?;
            }
            Ok(wrap(CudaStorage::F32(out), shape))
        }
        DType::I64 if matches!(op, Unary::Neg | Unary::Abs | Unary::Sign) => {
            let mut out = alloc::<i64>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "unary_i64",
                    cfg::elems(n),
                    [r.i64(0)?, &mut out, &geom, &n64, &code]
                )?;
            }
            Ok(wrap(CudaStorage::I64(out), shape))
        }
        d => bail!(Type, "{op:?}: expected a float32 tensor, got {d}"),
    }
}

/// g * f'(x) with y = f(x), all three of x's shape.
pub fn unary_backward(x: &Tensor, y: &Tensor, grad: &Tensor, op: Unary) -> Result<Tensor> {
    let g = common_gpu("backward", &[x, y, grad])?;
    let (n, shape) = (x.numel(), x.shape());
    let (code, a, b, flags) = unary_code(op);
    let n64 = n as i64;
    let gl = grad.layout().broadcast_to(shape)?;
    let geom = Geom::new(shape, &[x.layout(), y.layout(), &gl])?;
    let r = Reads::new(&[x, y, grad]);
    let mut out = alloc::<f32>(&g, n)?;
    if n > 0 {
        launch!(
            g,
            Elementwise,
            "unary_grad_f32",
            cfg::elems(n),
            [
                r.f32(0)?,
                r.f32(1)?,
                r.f32(2)?,
                &mut out,
                &geom,
                &n64,
                &code,
                &a,
                &b,
                &flags
            ]
        )?;
    }
    Ok(wrap(CudaStorage::F32(out), shape))
}

/// The layout of an operand over `shape`: its own broadcast, or zeros for a CPU scalar.
fn side(t: &Tensor, shape: &[usize]) -> Result<Layout> {
    if t.device().is_cuda() {
        t.layout().broadcast_to(shape)
    } else {
        Ok(Layout {
            shape: shape.to_vec(),
            strides: vec![0; shape.len()],
            offset: 0,
        })
    }
}

/// Bit 0: `a` is a CPU scalar, bit 1: `b` is.
fn scalar_bits(a: &Tensor, b: &Tensor) -> i32 {
    (!a.device().is_cuda()) as i32 | ((!b.device().is_cuda()) as i32) << 1
}

/// The buffers for operands 0 and 1; a CPU scalar's slot gets the other's buffer (unread).
fn pair<'r, T>(
    r: &'r Reads<'_>,
    get: impl Fn(&'r Reads<'_>, usize) -> Result<&'r CudaSlice<T>>,
    scal: i32,
) -> Result<(&'r CudaSlice<T>, &'r CudaSlice<T>)> {
    Ok(match scal {
        0 => (get(r, 0)?, get(r, 1)?),
        1 => (get(r, 1)?, get(r, 1)?),
        2 => (get(r, 0)?, get(r, 0)?),
        _ => bail!(Runtime, "internal: neither operand is on a CUDA device"),
    })
}

fn value_f32(t: &Tensor) -> Result<f32> {
    if t.device().is_cuda() {
        return Ok(0.0);
    }
    Ok(t.to_vec::<f32>()?[0])
}

fn value_i64(t: &Tensor) -> Result<i64> {
    if t.device().is_cuda() {
        return Ok(0);
    }
    Ok(t.to_vec::<i64>()?[0])
}

/// The float32 kernel `binary_f32` with op `code` over the broadcast shape.
fn binary_f32(g: &Gpu, a: &Tensor, b: &Tensor, code: i32) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let n: usize = shape.iter().product();
    let scal = scalar_bits(a, b);
    let (la, lb) = (side(a, &shape)?, side(b, &shape)?);
    let geom = Geom::new(&shape, &[&la, &lb])?;
    let (av, bv) = (value_f32(a)?, value_f32(b)?);
    let n64 = n as i64;
    let r = Reads::new(&[a, b]);
    let (pa, pb) = pair(&r, |r, i| r.f32(i), scal)?;
    let mut out = alloc::<f32>(g, n)?;
    if n > 0 {
        launch!(
            g,
            Elementwise,
            "binary_f32",
            cfg::elems(n),
            [pa, pb, &mut out, &geom, &n64, &code, &scal, &av, &bv]
        )?;
    }
    Ok(wrap(CudaStorage::F32(out), &shape))
}

/// a (op) b with broadcasting: both float32, or both int64 for add/sub/mul/maximum/minimum.
pub fn binary(a: &Tensor, b: &Tensor, op: BinaryOp) -> Result<Tensor> {
    let g = common_gpu(&format!("{op:?}"), &[a, b])?;
    match (a.dtype(), b.dtype()) {
        (DType::F32, DType::F32) => binary_f32(&g, a, b, binary_code(op)),
        (DType::I64, DType::I64) if !matches!(op, BinaryOp::Div | BinaryOp::Pow) => {
            let shape = broadcast_shapes(a.shape(), b.shape())?;
            let n: usize = shape.iter().product();
            let scal = scalar_bits(a, b);
            let (la, lb) = (side(a, &shape)?, side(b, &shape)?);
            let geom = Geom::new(&shape, &[&la, &lb])?;
            let (av, bv) = (value_i64(a)?, value_i64(b)?);
            let (n64, code) = (n as i64, binary_code(op));
            let r = Reads::new(&[a, b]);
            let (pa, pb) = pair(&r, |r, i| r.i64(i), scal)?;
            let mut out = alloc::<i64>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "binary_i64",
                    cfg::elems(n),
                    [pa, pb, &mut out, &geom, &n64, &code, &scal, &av, &bv]
                )?;
            }
            Ok(wrap(CudaStorage::I64(out), &shape))
        }
        (da, db) => bail!(
            Type,
            "{op:?} on CUDA: unsupported dtypes {da} and {db} (internal: the op converts first)"
        ),
    }
}

/// The helper functions of backward rules (see `ZipKind`), float32 with broadcasting.
pub fn zip(a: &Tensor, b: &Tensor, kind: ZipKind) -> Result<Tensor> {
    let g = common_gpu("backward", &[a, b])?;
    let (a, b) = (a.to_dtype(DType::F32)?, b.to_dtype(DType::F32)?);
    binary_f32(&g, &a, &b, zip_code(kind))
}

/// Elementwise comparison into a bool tensor; ints compare as int64, anything else as float32.
pub fn compare(a: &Tensor, b: &Tensor, op: CmpOp) -> Result<Tensor> {
    let g = common_gpu("comparison", &[a, b])?;
    let ints = a.dtype() != DType::F32 && b.dtype() != DType::F32;
    let dt = if ints { DType::I64 } else { DType::F32 };
    let (a, b) = (a.to_dtype(dt)?.detach(), b.to_dtype(dt)?.detach());
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let n: usize = shape.iter().product();
    let scal = scalar_bits(&a, &b);
    let (la, lb) = (side(&a, &shape)?, side(&b, &shape)?);
    let geom = Geom::new(&shape, &[&la, &lb])?;
    let (n64, code) = (n as i64, cmp_code(op));
    let r = Reads::new(&[&a, &b]);
    let mut out = alloc::<u8>(&g, n)?;
    if n > 0 {
        if ints {
            let (pa, pb) = pair(&r, |r, i| r.i64(i), scal)?;
            let (av, bv) = (value_i64(&a)?, value_i64(&b)?);
            launch!(
                g,
                Elementwise,
                "compare_i64",
                cfg::elems(n),
                [pa, pb, &mut out, &geom, &n64, &code, &scal, &av, &bv]
            )?;
        } else {
            let (pa, pb) = pair(&r, |r, i| r.f32(i), scal)?;
            let (av, bv) = (value_f32(&a)?, value_f32(&b)?);
            launch!(
                g,
                Elementwise,
                "compare_f32",
                cfg::elems(n),
                [pa, pb, &mut out, &geom, &n64, &code, &scal, &av, &bv]
            )?;
        }
    }
    Ok(wrap(CudaStorage::Bool(out), &shape))
}

/// cond ? a : b over the broadcast shape (a, b may be CPU scalars); the graph node routes the
/// gradient to the branch each element came from, as the CPU's `where`.
pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if cond.dtype() != DType::Bool {
        bail!(
            Type,
            "where: expected a bool condition, got dtype {}",
            cond.dtype()
        );
    }
    if !cond.device().is_cuda() {
        bail!(
            Runtime,
            "where: the condition is on the cpu but the values are on {}; move it with .cuda()",
            if a.device().is_cuda() {
                a.device()
            } else {
                b.device()
            }
        );
    }
    let (a, b) = (a.to_dtype(DType::F32)?, b.to_dtype(DType::F32)?);
    let shape = broadcast_shapes(&broadcast_shapes(cond.shape(), a.shape())?, b.shape())?;
    let c = cond.expand(&shape)?.detach();
    let out = select(&c, &a.detach(), &b.detach(), &shape)?;
    Ok(Tensor::from_op(out, &[&a, &b], WhereBackward { cond: c }))
}

fn select(c: &Tensor, a: &Tensor, b: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let g = common_gpu("where", &[c, a, b])?;
    let n: usize = shape.iter().product();
    let scal = scalar_bits(a, b) << 1;
    let (la, lb) = (side(a, shape)?, side(b, shape)?);
    let geom = Geom::new(shape, &[c.layout(), &la, &lb])?;
    let (av, bv) = (value_f32(a)?, value_f32(b)?);
    let n64 = n as i64;
    let r = Reads::new(&[c, a, b]);
    // A CPU scalar's slot takes the other value's buffer (never read).
    let pa = if a.device().is_cuda() {
        r.f32(1)?
    } else {
        r.f32(2)?
    };
    let pb = if b.device().is_cuda() { r.f32(2)? } else { pa };
    let mut out = alloc::<f32>(&g, n)?;
    if n > 0 {
        launch!(
            g,
            Elementwise,
            "where_f32",
            cfg::elems(n),
            [r.bool(0)?, pa, pb, &mut out, &geom, &n64, &scal, &av, &bv]
        )?;
    }
    Ok(wrap(CudaStorage::F32(out), shape))
}

struct WhereBackward {
    cond: Tensor,
}

impl BackwardOp for WhereBackward {
    fn name(&self) -> &'static str {
        "where"
    }
    fn backward(&self, g: &Tensor, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let zero = Tensor::scalar(0.0);
        let shape = self.cond.shape();
        let mut out = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            if !input.requires_grad() {
                out.push(None);
                continue;
            }
            let gi = if i == 0 {
                select(&self.cond, g, &zero, shape)?
            } else {
                select(&self.cond, &zero, g, shape)?
            };
            out.push(Some(sum_to_shape(&gi, input.shape())?));
        }
        Ok(out)
    }
}

/// A copy of `x` converted to `dtype` (contiguous). Same conversions as the CPU: float to
/// int64 truncates (NaN to 0, saturating), anything to bool is "!= 0".
pub fn cast(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        return Ok(x.clone());
    }
    let g = gpu_of(x)?;
    let (n, shape) = (x.numel(), x.shape());
    let geom = Geom::new(shape, &[x.layout()])?;
    let n64 = n as i64;
    let r = Reads::new(&[x]);
    let c = cfg::elems(n.max(1));
    let out = match (x.dtype(), dtype) {
        (DType::F32, DType::I64) => {
            let mut o = alloc::<i64>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "cast_f32_i64",
                    c,
                    [r.f32(0)?, &mut o, &geom, &n64]
                )?;
            }
            CudaStorage::I64(o)
        }
        (DType::F32, DType::Bool) => {
            let mut o = alloc::<u8>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "cast_f32_bool",
                    c,
                    [r.f32(0)?, &mut o, &geom, &n64]
                )?;
            }
            CudaStorage::Bool(o)
        }
        (DType::I64, DType::F32) => {
            let mut o = alloc::<f32>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "cast_i64_f32",
                    c,
                    [r.i64(0)?, &mut o, &geom, &n64]
                )?;
            }
            CudaStorage::F32(o)
        }
        (DType::I64, DType::Bool) => {
            let mut o = alloc::<u8>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "cast_i64_bool",
                    c,
                    [r.i64(0)?, &mut o, &geom, &n64]
                )?;
            }
            CudaStorage::Bool(o)
        }
        (DType::Bool, DType::F32) => {
            let mut o = alloc::<f32>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "cast_bool_f32",
                    c,
                    [r.bool(0)?, &mut o, &geom, &n64]
                )?;
            }
            CudaStorage::F32(o)
        }
        (DType::Bool, DType::I64) => {
            let mut o = alloc::<i64>(&g, n)?;
            if n > 0 {
                launch!(
                    g,
                    Elementwise,
                    "cast_bool_i64",
                    c,
                    [r.bool(0)?, &mut o, &geom, &n64]
                )?;
            }
            CudaStorage::I64(o)
        }
        _ => unreachable!("same dtype handled above"),
    };
    Ok(wrap(out, shape))
}
