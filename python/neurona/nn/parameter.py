"""``nn.Parameter``: a Tensor that a Module registers as trainable. It is a leaf that requires
grad by default and shares its storage with the tensor it was made from (as in PyTorch)."""

from __future__ import annotations

from neurona.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning one to a Module attribute registers it,
    so it appears in ``parameters()`` and ``state_dict()``.

    ``Parameter(data, requires_grad=True)`` shares ``data``'s memory, detached from any graph.
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from neurona.creation import empty

            data = empty(0)
        elif not isinstance(data, Tensor):
            from neurona.creation import tensor

            data = tensor(data)
        p = Tensor.__new__(cls)
        p._c = data._c.detach()
        if requires_grad:
            p._c.set_requires_grad(True)
        return p

    def __init__(self, data=None, requires_grad=True):
        # Everything happens in __new__; Tensor.__init__ would rebuild the data.
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # Rebuilt as a Parameter around the (picklable, once Tensor is) data.
        return (Parameter, (self.detach(), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = out
        return out

    @property
    def data(self) -> Tensor:
        return Tensor.data.fget(self)

    @data.setter
    def data(self, value) -> None:
        # Swapping the data keeps the parameter trainable (Tensor.data's setter detaches).
        requires_grad = self._c.requires_grad
        self._c = value._c.detach()
        if requires_grad:
            self._c.set_requires_grad(True)


def is_parameter(x) -> bool:
    return isinstance(x, Parameter)
