"""Containers: ``Sequential`` (layers applied in order), ``ModuleList`` and ``ModuleDict``
(registered collections of submodules)."""

from __future__ import annotations

import collections
import operator
from itertools import islice

from neurona import ops as _ops
from neurona.nn import module as _module
from neurona.nn.module import Module


def _index(idx: int, n: int, what: str) -> int:
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {what} of length {n}")
    return idx % n


class Sequential(Module):
    """Applies its modules in order: ``Sequential(Linear(3, 4), ReLU(), Linear(4, 2))`` or
    ``Sequential(OrderedDict(name=module, ...))``. Supports indexing, slicing, len and append.

    A ``Linear`` directly followed by a ``ReLU`` runs as one fused GEMM + bias + ReLU, and a
    ``ReLU`` directly followed by an unpadded ``MaxPool2d`` runs as the pool then the ReLU, on
    a quarter of the elements (same values and gradients as the layers one after the other)."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], collections.OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(collections.OrderedDict(list(self._modules.items())[idx]))
        i = _index(idx, len(self), "Sequential")
        return next(islice(iter(self._modules.values()), i, None))

    def __setitem__(self, idx, module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        setattr(self, key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), "Sequential")]]):
            del self._modules[key]
        # Keep numeric keys dense, as PyTorch does.
        items = list(self._modules.items())
        self._modules.clear()
        for i, (k, m) in enumerate(items):
            self._modules[str(i) if k.isdigit() else k] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"add operator supports only objects of Sequential class, got {type(other).__name__}")
        out = Sequential()
        for m in self:
            out.append(m)
        for m in other:
            out.append(m)
        return out

    def append(self, module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"module should be of type: {Module}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        index = index % (n + 1) if index < 0 else index
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m
        return self

    def forward(self, input):
        from neurona.nn.activation import ReLU
        from neurona.nn.linear import Linear
        from neurona.nn.pooling import MaxPool2d

        mods = list(self._modules.values())
        # The fusions skip the ReLU module's call, so they are off while summary() observes.
        fuse = not _module._call_observers
        i = 0
        while i < len(mods):
            m = mods[i]
            nxt = type(mods[i + 1]) if fuse and i + 1 < len(mods) else None
            if nxt is ReLU and type(m) is Linear:
                input = _ops.linear(input, m.weight, m.bias, relu=True)
                i += 2
                continue
            if nxt is MaxPool2d and type(m) is ReLU and _relu_commutes_with(mods[i + 1]):
                input = _ops.relu(mods[i + 1](input))
                i += 2
                continue
            input = m(input)
            i += 1
        return input


def _relu_commutes_with(pool) -> bool:
    """relu(max(window)) == max(relu(window)) since relu is non-decreasing, and the gradient
    also lands on the same element: where the window's max is positive both orders pick the
    same first maximum; where it is <= 0 both give zeros. NaN is the max either way and relu
    keeps it. Without padding every window holds only real elements, so no -inf pad is the max."""
    from neurona.nn import functional as F

    return F._pair(pool.padding, "padding") == (0, 0)


class ModuleList(Module):
    """A list of modules, registered so their parameters are the parent's."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module) -> None:
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [str(_index(idx, len(self), "ModuleList"))]):
            del self._modules[key]
        mods = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend should be called with an iterable, but got " + type(modules).__name__)
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index: int, module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container, not a layer: iterate over it in your forward()")


class ModuleDict(Module):
    """A dict of modules (insertion ordered), registered so their parameters are the parent's."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str):
        return self._modules[key]

    def __setitem__(self, key: str, module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str):
        v = self[key]
        del self[key]
        return v

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is a container, not a layer: index it in your forward()")
