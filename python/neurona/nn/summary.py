"""``model.summary(input_shape)``: the Keras-style table of a model's layers, their output
shapes and parameter counts, taken from one forward pass of a zero input."""

from __future__ import annotations

from neurona._grad_mode import no_grad
from neurona.nn import module as _module
from neurona.tensor import Tensor


def _shape_of(out):
    if isinstance(out, Tensor):
        return [-1, *out.shape[1:]]
    if isinstance(out, (tuple, list)):
        return [_shape_of(o) for o in out]
    return None


def _fmt_shape(s) -> str:
    if s is None:
        return "-"
    if s and isinstance(s[0], list):
        return ", ".join(_fmt_shape(x) for x in s)
    return "[" + ", ".join(str(v) for v in s) + "]"


class ModelSummary:
    """The result of ``summary``: ``rows`` of (name, layer type, output shape, parameters),
    and the totals. ``str()`` and ``repr()`` give the table."""

    def __init__(self, rows, total, trainable, input_shape):
        self.rows = rows
        self.total_params = total
        self.trainable_params = trainable
        self.non_trainable_params = total - trainable
        self.input_shape = input_shape

    def table(self) -> str:
        head = ("Layer (type)", "Output Shape", "Param #")
        body = [(f"{name} ({kind})" if name else kind, _fmt_shape(shape), f"{n:,}") for name, kind, shape, n in self.rows]
        w0 = max([len(head[0])] + [len(r[0]) for r in body])
        w1 = max([len(head[1])] + [len(r[1]) for r in body])
        w2 = max([len(head[2])] + [len(r[2]) for r in body])
        width = w0 + w1 + w2 + 6
        line = lambda r: f"{r[0]:<{w0}}   {r[1]:<{w1}}   {r[2]:>{w2}}"
        out = ["=" * width, line(head), "=" * width]
        out += [line(r) for r in body]
        out += [
            "=" * width,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            "=" * width,
        ]
        return "\n".join(out)

    __str__ = table
    __repr__ = table


def summary(model, input_shape, batch_size: int = 1, dtype=None) -> ModelSummary:
    """Runs ``model`` once on zeros of shape ``(batch_size, *input_shape)`` (eval mode, no
    gradients) and records every leaf layer's output. ``input_shape`` excludes the batch
    dimension; a list of shapes gives a model several inputs. Output shapes show the batch
    dimension as -1."""
    from neurona.creation import zeros

    multi = len(input_shape) > 0 and isinstance(input_shape[0], (list, tuple))
    shapes = list(input_shape) if multi else [input_shape]
    inputs = [zeros((int(batch_size), *[int(d) for d in s]), dtype=dtype) for s in shapes]
    names = {id(m): n for n, m in model.named_modules()}
    rows = []

    def observe(m, args, out):
        if m is model or any(True for _ in m.children()):
            return
        n = sum(p.numel() for p in m.parameters())
        rows.append((names.get(id(m), ""), type(m).__name__, _shape_of(out), n))

    modes = [(m, m.training) for m in model.modules()]
    _module._call_observers.append(observe)
    try:
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        _module._call_observers.remove(observe)
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return ModelSummary(rows, total, trainable, shapes)
