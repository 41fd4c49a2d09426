//! `neurona._core.CoreTensor`: the handle the Python `neurona.Tensor` wraps. Every method
//! converts its arguments, then calls the core through `run` (GIL released, panics caught).

use crate::errors::{run, to_py};
use crate::numpy_bridge::to_numpy;
use neurona_core::autograd;
use neurona_core::ops::binary::BinaryOp;
use neurona_core::ops::compare::CmpOp;
use neurona_core::ops::unary::Unary;
use neurona_core::{DType, Tensor};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

#[pyclass(name = "CoreTensor", module = "neurona._core", frozen)]
pub struct PyTensor {
    pub inner: Tensor,
}

pub fn wrap(t: Tensor) -> PyTensor {
    PyTensor { inner: t }
}

pub fn parse_dtype(s: &str) -> PyResult<DType> {
    Ok(match s {
        "float32" | "float" => DType::F32,
        "int64" | "long" => DType::I64,
        "bool" => DType::Bool,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "unsupported dtype '{s}': expected float32, int64 or bool"
            )))
        }
    })
}

/// A tensor operand from a CoreTensor or a Python number (a 0-d tensor of the matching dtype).
pub fn operand(obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(t.get().inner.clone());
    }
    let made = if obj.is_instance_of::<PyBool>() {
        Tensor::from_vec(vec![obj.extract::<bool>()?], &[])
    } else if obj.is_instance_of::<PyInt>() {
        Tensor::from_vec(vec![obj.extract::<i64>()?], &[])
    } else if obj.is_instance_of::<PyFloat>() {
        Tensor::from_vec(vec![obj.extract::<f64>()? as f32], &[])
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected a Tensor or a number, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        )));
    };
    made.map_err(to_py)
}

fn binary_op(name: &str) -> PyResult<BinaryOp> {
    Ok(match name {
        "add" => BinaryOp::Add,
        "sub" => BinaryOp::Sub,
        "mul" => BinaryOp::Mul,
        "div" => BinaryOp::Div,
        "pow" => BinaryOp::Pow,
        "maximum" => BinaryOp::Maximum,
        "minimum" => BinaryOp::Minimum,
        _ => return Err(PyValueError::new_err(format!("unknown binary op '{name}'"))),
    })
}

fn unary_op(name: &str, a: Option<f32>, b: Option<f32>) -> PyResult<Unary> {
    Ok(match name {
        "neg" => Unary::Neg,
        "exp" => Unary::Exp,
        "log" => Unary::Log,
        "sqrt" => Unary::Sqrt,
        "abs" => Unary::Abs,
        "relu" => Unary::Relu,
        "leaky_relu" => Unary::LeakyRelu(a.unwrap_or(0.01)),
        "sigmoid" => Unary::Sigmoid,
        "tanh" => Unary::Tanh,
        "softplus" => Unary::Softplus,
        "gelu" => Unary::Gelu,
        "sign" => Unary::Sign,
        "clamp" => Unary::Clamp(a, b),
        _ => return Err(PyValueError::new_err(format!("unknown unary op '{name}'"))),
    })
}

#[pymethods]
impl PyTensor {
    // ----- metadata -----
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.dtype().name()
    }
    #[getter]
    fn device(&self) -> String {
        self.inner.device().to_string()
    }
    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }
    fn numel(&self) -> usize {
        self.inner.numel()
    }
    fn is_contiguous(&self) -> bool {
        self.inner.is_contiguous()
    }
    fn data_ptr(&self) -> usize {
        self.inner.storage_ptr() + self.inner.layout().offset * self.inner.dtype().size_in_bytes()
    }
    fn strides<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.layout().strides)
    }
    fn same_storage(&self, other: &PyTensor) -> bool {
        self.inner.same_storage(&other.inner)
    }

    // ----- autograd -----
    #[getter]
    fn requires_grad(&self) -> bool {
        self.inner.requires_grad()
    }
    fn set_requires_grad(&self, on: bool) -> PyResult<()> {
        self.inner.set_requires_grad(on).map_err(to_py)
    }
    #[getter]
    fn is_leaf(&self) -> bool {
        self.inner.is_leaf()
    }
    #[getter]
    fn grad_fn(&self) -> Option<&'static str> {
        self.inner.node().map(|n| n.name())
    }
    #[getter]
    fn grad(&self) -> Option<PyTensor> {
        self.inner.grad().map(wrap)
    }
    #[setter]
    fn set_grad(&self, g: Option<PyRef<'_, PyTensor>>) -> PyResult<()> {
        self.inner
            .set_grad(g.map(|g| g.inner.clone()))
            .map_err(to_py)
    }
    fn retain_grad(&self) {
        self.inner.retain_grad()
    }
    fn detach(&self) -> PyTensor {
        wrap(self.inner.detach())
    }
    #[pyo3(signature = (grad=None, retain_graph=false))]
    fn backward(
        &self,
        py: Python<'_>,
        grad: Option<PyRef<'_, PyTensor>>,
        retain_graph: bool,
    ) -> PyResult<()> {
        let (t, g) = (self.inner.clone(), grad.map(|g| g.inner.clone()));
        run(py, move || {
            neurona_core::parallel::install(|| autograd::backward(&t, g, retain_graph))
        })
    }

    // ----- data out -----
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(py, &self.inner)
    }
    fn item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.inner.numel() != 1 {
            return Err(PyValueError::new_err(format!(
                "a Tensor with {} elements cannot be converted to a Python scalar",
                self.inner.numel()
            )));
        }
        let s = self.inner.detach();
        let t = run(py, move || {
            neurona_core::cuda::to_device(&s, neurona_core::Device::Cpu)
        })?;
        Ok(match t.dtype() {
            DType::F32 => (t.to_vec::<f32>().map_err(to_py)?[0] as f64)
                .into_pyobject(py)?
                .into_any(),
            DType::I64 => t.to_vec::<i64>().map_err(to_py)?[0]
                .into_pyobject(py)?
                .into_any(),
            DType::Bool => PyBool::new(py, t.to_vec::<bool>().map_err(to_py)?[0])
                .to_owned()
                .into_any(),
        })
    }

    // ----- elementwise -----
    fn binary(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: &str,
        reflected: bool,
    ) -> PyResult<PyTensor> {
        let (op, o, s) = (binary_op(op)?, operand(other)?, self.inner.clone());
        run(py, move || {
            if reflected {
                o.binary(&s, op)
            } else {
                s.binary(&o, op)
            }
        })
        .map(wrap)
    }
    fn binary_(&self, py: Python<'_>, other: &Bound<'_, PyAny>, op: &str) -> PyResult<()> {
        let (op, o, s) = (binary_op(op)?, operand(other)?, self.inner.clone());
        run(py, move || s.binary_(&o, op))
    }
    fn compare(&self, py: Python<'_>, other: &Bound<'_, PyAny>, op: &str) -> PyResult<PyTensor> {
        let op = match op {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            _ => return Err(PyValueError::new_err(format!("unknown comparison '{op}'"))),
        };
        let (o, s) = (operand(other)?, self.inner.clone());
        run(py, move || s.compare(&o, op)).map(wrap)
    }
    #[pyo3(signature = (op, a=None, b=None))]
    fn unary(
        &self,
        py: Python<'_>,
        op: &str,
        a: Option<f32>,
        b: Option<f32>,
    ) -> PyResult<PyTensor> {
        let (op, s) = (unary_op(op, a, b)?, self.inner.clone());
        run(py, move || s.unary(op)).map(wrap)
    }
    fn dropout(&self, py: Python<'_>, p: f32) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.dropout(p)).map(wrap)
    }
    fn softmax(&self, py: Python<'_>, axis: isize) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.softmax(axis)).map(wrap)
    }
    fn log_softmax(&self, py: Python<'_>, axis: isize) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.log_softmax(axis)).map(wrap)
    }

    // ----- reductions -----
    fn reduce(
        &self,
        py: Python<'_>,
        op: &str,
        axes: Vec<isize>,
        keepdim: bool,
    ) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        let op = op.to_string();
        run(py, move || match op.as_str() {
            "sum" => s.sum(&axes, keepdim),
            "mean" => s.mean(&axes, keepdim),
            "max" => s.max(&axes, keepdim),
            "min" => s.min(&axes, keepdim),
            _ => neurona_core::bail!(Value, "unknown reduction '{op}'"),
        })
        .map(wrap)
    }
    fn var(
        &self,
        py: Python<'_>,
        axes: Vec<isize>,
        correction: usize,
        keepdim: bool,
    ) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.var(&axes, correction, keepdim)).map(wrap)
    }
    #[pyo3(signature = (axis, keepdim, largest))]
    fn argext(
        &self,
        py: Python<'_>,
        axis: Option<isize>,
        keepdim: bool,
        largest: bool,
    ) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.argext(axis, keepdim, largest)).map(wrap)
    }

    // ----- linear algebra -----
    fn matmul(&self, py: Python<'_>, other: &PyTensor) -> PyResult<PyTensor> {
        let (a, b) = (self.inner.clone(), other.inner.clone());
        run(py, move || a.matmul(&b)).map(wrap)
    }
    #[pyo3(signature = (weight, bias=None, relu=false))]
    fn linear(
        &self,
        py: Python<'_>,
        weight: &PyTensor,
        bias: Option<PyRef<'_, PyTensor>>,
        relu: bool,
    ) -> PyResult<PyTensor> {
        let (x, w, b) = (
            self.inner.clone(),
            weight.inner.clone(),
            bias.map(|b| b.inner.clone()),
        );
        run(py, move || x.linear(&w, b.as_ref(), relu)).map(wrap)
    }

    // ----- views and shapes -----
    fn reshape(&self, py: Python<'_>, shape: Vec<usize>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.reshape(&shape)).map(wrap)
    }
    fn permute(&self, py: Python<'_>, dims: Vec<usize>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.permute(&dims)).map(wrap)
    }
    fn transpose(&self, py: Python<'_>, d0: isize, d1: isize) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.transpose(d0, d1)).map(wrap)
    }
    fn expand(&self, py: Python<'_>, shape: Vec<usize>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.expand(&shape)).map(wrap)
    }
    fn squeeze(&self, py: Python<'_>, axes: Vec<isize>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.squeeze(&axes)).map(wrap)
    }
    fn unsqueeze(&self, py: Python<'_>, axis: isize) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.unsqueeze(axis)).map(wrap)
    }
    fn flatten(&self, py: Python<'_>, start: isize, end: isize) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.flatten(start, end)).map(wrap)
    }
    fn slice(
        &self,
        py: Python<'_>,
        spec: Vec<(usize, usize, usize)>,
        drop: Vec<bool>,
    ) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.slice(&spec, &drop)).map(wrap)
    }
    fn contiguous(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.contiguous()).map(wrap)
    }
    /// A copy with its own storage (in the graph).
    fn clone_tensor(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || {
            let copy = match s.dtype() {
                _ if s.device().is_cuda() => neurona_core::cuda::ops::contiguous(&s)?,
                DType::F32 => Tensor::from_vec(s.to_vec::<f32>()?, s.shape())?,
                DType::I64 => Tensor::from_vec(s.to_vec::<i64>()?, s.shape())?,
                DType::Bool => Tensor::from_vec(s.to_vec::<bool>()?, s.shape())?,
            };
            Ok(Tensor::from_op(
                copy,
                &[&s],
                neurona_core::ops::view::IdentityBackward,
            ))
        })
        .map(wrap)
    }
    fn to_dtype(&self, py: Python<'_>, dtype: &str) -> PyResult<PyTensor> {
        let (d, s) = (parse_dtype(dtype)?, self.inner.clone());
        run(py, move || s.to_dtype(d)).map(wrap)
    }
    fn to_device(&self, py: Python<'_>, device: &str) -> PyResult<PyTensor> {
        let (s, dev) = (
            self.inner.clone(),
            crate::cuda_bindings::parse_device(device)?,
        );
        run(py, move || {
            if let neurona_core::Device::Cuda(i) = dev {
                neurona_core::cuda::check_device(i)?;
            }
            neurona_core::cuda::to_device(&s, dev)
        })
        .map(wrap)
    }

    // ----- indexing -----
    fn index_select(&self, py: Python<'_>, axis: isize, index: &PyTensor) -> PyResult<PyTensor> {
        let (s, i) = (self.inner.clone(), index.inner.clone());
        run(py, move || s.index_select(axis, &i)).map(wrap)
    }
    fn gather(&self, py: Python<'_>, axis: isize, index: &PyTensor) -> PyResult<PyTensor> {
        let (s, i) = (self.inner.clone(), index.inner.clone());
        run(py, move || s.gather(axis, &i)).map(wrap)
    }
    fn masked_select_rows(&self, py: Python<'_>, mask: &PyTensor) -> PyResult<PyTensor> {
        let (s, m) = (self.inner.clone(), mask.inner.clone());
        run(py, move || s.masked_select_rows(&m)).map(wrap)
    }
    fn nonzero(&self, py: Python<'_>) -> PyResult<PyTensor> {
        let s = self.inner.clone();
        run(py, move || s.nonzero()).map(wrap)
    }

    // ----- in place -----
    fn copy_(&self, py: Python<'_>, src: &Bound<'_, PyAny>) -> PyResult<()> {
        let (s, o) = (self.inner.clone(), operand(src)?);
        run(py, move || s.copy_(&o))
    }
}
