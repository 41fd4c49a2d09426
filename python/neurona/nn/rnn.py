"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM`` and ``GRU`` over whole sequences, and
the single-step cells ``RNNCell``, ``LSTMCell`` and ``GRUCell``, with PyTorch's shapes,
options, parameter names, gate order and initialisation, so state_dicts load both ways.

Each layer-direction is one call into the Rust core (``_core.rnn_layer``): the input
projection of all time steps is one matrix product, each step one more plus a fused cell
kernel, and backpropagation through time is that op's backward. The core returns one tensor
(T + 1 [+ 1], N, H) holding every step's hidden state, then h_n, then (LSTM) c_n; this module
slices it, joins directions and stacks layers.

Gate order (as PyTorch): LSTM i, f, g, o; GRU r, z, n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

from __future__ import annotations

import math
import numbers
import warnings

from neurona import _core
from neurona import ops as _ops
from neurona.creation import empty, zeros
from neurona.nn import init
from neurona.nn.module import Module
from neurona.nn.parameter import Parameter
from neurona.tensor import Tensor, _wrap

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_NAMES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _shape(s) -> str:
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _check_sizes(kind: str, input_size, hidden_size) -> None:
    for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{kind}: {name} should be of type int, got: {type(v).__name__}")
    if hidden_size <= 0:
        raise ValueError(f"{kind}: hidden_size must be greater than zero, got {hidden_size}")
    if input_size < 0:
        raise ValueError(f"{kind}: input_size must be >= 0, got {input_size}")


def _layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """One layer-direction: (output (T, N, H), h_n (N, H), c_n (N, H) or None)."""
    y = _wrap(
        _core.rnn_layer(
            mode,
            x._c,
            h0._c,
            None if c0 is None else c0._c,
            w_ih._c,
            w_hh._c,
            None if b_ih is None else b_ih._c,
            None if b_hh is None else b_hh._c,
            bool(reverse),
        )
    )
    # Views of the state buffer (T + 1 [+ 1], N, H) straight through the core's slice: the
    # general indexing path costs more than the rest of this function.
    t, n, h = y.shape
    t -= 2 if mode == "LSTM" else 1
    c = y._c
    full = [(0, n, 1), (0, h, 1)]
    out = _wrap(c.slice([(0, t, 1)] + full, [False, False, False]))
    h_n = _wrap(c.slice([(t, t + 1, 1)] + full, [True, False, False]))
    c_n = _wrap(c.slice([(t + 1, t + 2, 1)] + full, [True, False, False])) if mode == "LSTM" else None
    return out, h_n, c_n


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrent layer behind RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        kind = _NAMES[mode]
        _check_sizes(kind, input_size, hidden_size)
        if not isinstance(num_layers, numbers.Integral) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError(f"{kind}: num_layers must be an integer greater than zero, got {num_layers!r}")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(
                f"{kind}: dropout should be a number in range [0, 1] representing the probability "
                f"of an element being zeroed, got {dropout!r}")
        if proj_size:
            raise ValueError(f"{kind}: proj_size is not supported by neurona (got {proj_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2)
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = 0
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * self.hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(self.num_layers):
            for direction in range(num_directions):
                layer_input = self.input_size if layer == 0 else self.hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, self.hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()
        if device is not None or dtype is not None:
            self.to(*[a for a in (device, dtype) if a is not None])

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Accepted for PyTorch compatibility: the weights are always used in place."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _weights(self, layer: int, direction: int):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer-direction; biases None without bias."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)

    def _check_state(self, name: str, h, expected: tuple) -> None:
        if not isinstance(h, Tensor):
            raise TypeError(f"{_NAMES[self.mode]}: {name} must be a Tensor, got {type(h).__name__}")
        if tuple(h.shape) != expected:
            raise ValueError(
                f"{_NAMES[self.mode]}: expected {name} of shape {_shape(expected)}, got {_shape(h.shape)}")

    def forward(self, input, hx=None):
        kind = _NAMES[self.mode]
        if not isinstance(input, Tensor):
            raise TypeError(f"{kind}: input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{kind}: Expected input to be 2D (seq_len, input_size) or 3D (batched), got "
                f"{input.dim()}D instead (shape {_shape(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{kind}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]} (input shape {_shape(input.shape)})")
        batched = input.dim() == 3
        x = input if not batched else (input.transpose(0, 1) if self.batch_first else input)
        if not batched:
            x = x.unsqueeze(1)
        if x.shape[0] == 0:
            raise ValueError(f"{kind}: expected a sequence of at least one time step, got input of shape "
                             f"{_shape(input.shape)}")
        n = x.shape[1]
        d = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        state_shape = (self.num_layers * d, n, self.hidden_size) if batched else (self.num_layers * d, self.hidden_size)
        if hx is None:
            h0 = c0 = None
        elif lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            h0, c0 = hx
            self._check_state("h_0", h0, state_shape)
            self._check_state("c_0", c0, state_shape)
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{kind}: hx must be a Tensor (h_0), got {type(hx).__name__}")
            h0, c0 = hx, None
            self._check_state("h_0", h0, state_shape)
        if not batched:
            h0 = None if h0 is None else h0.unsqueeze(1)
            c0 = None if c0 is None else c0.unsqueeze(1)
        zero = zeros(n, self.hidden_size) if h0 is None or (lstm and c0 is None) else None

        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(d):
                k = layer * d + direction
                h = zero if h0 is None else h0[k]
                c = (zero if c0 is None else c0[k]) if lstm else None
                out, hk, ck = _layer(self.mode, x, h, c, *self._weights(layer, direction), direction == 1)
                outs.append(out)
                h_n.append(hk)
                c_n.append(ck)
            x = outs[0] if d == 1 else _ops.cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = _ops.dropout(x, self.dropout, True)

        output = x
        h_n = _ops.stack(h_n, 0)
        c_n = _ops.stack(c_n, 0) if lstm else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked
    ``num_layers`` deep, optionally bidirectional.

    ``forward(input, h_0=None)`` -> ``(output, h_n)``: input (L, N, H_in) or (N, L, H_in) with
    ``batch_first``, or unbatched (L, H_in); output (L, N, D*H_out); h_n (num_layers*D, N, H_out).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; c_t = f*c_{t-1} + i*g, h_t = o*tanh(c_t).

    ``forward(input, (h_0, c_0)=None)`` -> ``(output, (h_n, c_n))`` with RNN's shapes.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit: gates r, z, n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn)),
    h_t = (1 - z)*n + z*h_{t-1}. ``forward(input, h_0=None)`` -> ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# ----- cells ------------------------------------------------------------------------------
class RNNCellBase(Module):
    """One time step of a recurrent layer: weights weight_ih (G*H, I), weight_hh (G*H, H) and,
    with ``bias``, bias_ih and bias_hh (G*H,)."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        g = num_chunks * self.hidden_size
        self.weight_ih = Parameter(empty(g, self.input_size))
        self.weight_hh = Parameter(empty(g, self.hidden_size))
        if bias:
            self.bias_ih = Parameter(empty(g))
            self.bias_hh = Parameter(empty(g))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        if device is not None or dtype is not None:
            self.to(*[a for a in (device, dtype) if a is not None])

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _step(self, input, hx, cx=None):
        """Checks shapes, runs one step; returns (h', c' or None) without a batch axis when the
        input had none."""
        kind = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{kind}: input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected input to be 1D or 2D, got {input.dim()}D instead "
                             f"(shape {_shape(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{kind}: input has inconsistent input_size: got {input.shape[-1]} expected "
                             f"{self.input_size} (input shape {_shape(input.shape)})")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        n = x.shape[0]
        expected = (n, self.hidden_size) if batched else (self.hidden_size,)
        states = []
        for name, s in (("hx", hx), ("cx", cx)) if self._mode == "LSTM" else (("hx", hx),):
            if s is None:
                states.append(zeros(n, self.hidden_size))
                continue
            if not isinstance(s, Tensor):
                raise TypeError(f"{kind}: {name} must be a Tensor, got {type(s).__name__}")
            if tuple(s.shape) != expected:
                raise ValueError(f"{kind}: expected {name} of shape {_shape(expected)}, got {_shape(s.shape)}")
            states.append(s if batched else s.unsqueeze(0))
        c0 = states[1] if self._mode == "LSTM" else None
        _, h, c = _layer(self._mode, x.unsqueeze(0), states[0], c0, self.weight_ih, self.weight_hh,
                         self.bias_ih, self.bias_hh, False)
        if not batched:
            h = h.squeeze(0)
            c = None if c is None else c.squeeze(0)
        return h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). ``forward(input, hx=None)`` -> h'
    with input (N, I) or (I,) and hx (N, H) or (H,) (zeros when None)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input, hx=None):
        return self._step(input, hx)[0]

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity='{self.nonlinearity}'" if self.nonlinearity != "tanh" else "")


class LSTMCell(RNNCellBase):
    """One LSTM step. ``forward(input, (hx, cx)=None)`` -> ``(h', c')``."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is None:
            h, c = None, None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h, c = hx
        else:
            raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        return self._step(input, h, c)


class GRUCell(RNNCellBase):
    """One GRU step. ``forward(input, hx=None)`` -> h'."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx)[0]


__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]
