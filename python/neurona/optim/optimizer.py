"""``optim.Optimizer``: the base class of the optimizers, with PyTorch's interface
(``torch/optim/optimizer.py``): ``param_groups`` (dicts of parameters and hyperparameters),
``defaults``, ``state`` (per-parameter dicts of tensors), ``zero_grad``, ``step(closure)``,
``add_param_group``, and ``state_dict``/``load_state_dict`` with parameters referred to by
index. A subclass validates its hyperparameters and updates one parameter at a time with one
fused Rust kernel call (``_update``)."""

from __future__ import annotations

import collections
import itertools
import warnings

from neurona._grad_mode import enable_grad
from neurona.tensor import Tensor


class _RequiredParameter:
    """Marks a hyperparameter without a default."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _check_non_negative(what: str, v) -> None:
    if not float(v) >= 0.0:
        raise ValueError(f"Invalid {what}: {v}")


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors (leaves, such as ``model.parameters()``) or of dicts
    ``{"params": [...], "lr": ...}`` that give some parameters their own hyperparameters;
    ``defaults`` fills in what a group does not set."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict = collections.defaultdict(dict)
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        if isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead."
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    s += f"\n    {key}: {group[key]}"
        return s + "\n)"

    # ----- groups -----------------------------------------------------------------------
    def _validate_group(self, group: dict) -> None:
        """Raises ValueError for hyperparameters out of range (each optimizer's own rules)."""
        _check_non_negative("learning rate", group["lr"])

    def add_param_group(self, param_group: dict) -> None:
        """Adds a group of parameters with their own hyperparameters (fine-tuning a layer with
        a smaller learning rate, say); missing ones come from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    "can't optimize a non-leaf Tensor (one computed from other tensors): optimize the "
                    "leaves it was computed from, or detach it and set requires_grad=True"
                )
            if not p.is_floating_point():
                raise TypeError(f"optimizer can only optimize float32 tensors, got {p.dtype}")
            if not p.is_contiguous():
                raise ValueError(
                    f"optimizer parameters are updated in place and must be contiguous; got one of shape "
                    f"{tuple(p.shape)} with strides {p.stride()}: use p.detach().contiguous().requires_grad_()"
                )
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        self._validate_group(param_group)
        ids = [id(p) for p in param_group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will "
                "cause an error",
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ----- gradients and steps ----------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears every parameter's ``.grad`` (to None, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g.zero_()

    def step(self, closure=None):
        """Updates every parameter that has a gradient; with ``closure`` (a function that
        re-evaluates the model and returns the loss) calls it first and returns its loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._validate_group(group)
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                self._update(p, g, self.state[p], group)
        return loss

    def _update(self, p: Tensor, grad: Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    # ----- state ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [indices]}]}``:
        parameters are numbered in group order, so the dict fits a new optimizer over the
        same architecture. State tensors are the live ones (copy them to snapshot)."""
        index: dict = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in g["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = dict(s)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Loads a ``state_dict()`` (copying its tensors). The groups must match this
        optimizer's in number and sizes, and state tensors must match their parameters."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError("optimizer state_dict must be a dict with 'state' and 'param_groups' entries")
        groups = self.param_groups
        saved = state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(saved)}) than "
                f"the optimizer ({len(groups)})"
            )
        for i, (g, s) in enumerate(zip(groups, saved)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: group {i} has {len(s['params'])} parameters in the state dict, "
                    f"{len(g['params'])} in the optimizer"
                )
        id_map = dict(
            zip(
                itertools.chain.from_iterable(s["params"] for s in saved),
                itertools.chain.from_iterable(g["params"] for g in groups),
            )
        )
        new_state: dict = collections.defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k not in id_map:
                continue
            p = id_map[k]
            entry = {}
            for name, value in v.items():
                if isinstance(value, Tensor):
                    if value.dim() > 0 and tuple(value.shape) != tuple(p.shape):
                        raise ValueError(
                            f"loaded state '{name}' of parameter {k} has shape {tuple(value.shape)}, "
                            f"but the parameter has shape {tuple(p.shape)}"
                        )
                    value = value.detach().to(p.device).clone().contiguous()
                entry[name] = value
            new_state[p] = entry
        new_groups = []
        for g, s in zip(groups, saved):
            ng = {k: v for k, v in s.items() if k != "params"}
            ng["params"] = g["params"]
            self._validate_group(ng)
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups
