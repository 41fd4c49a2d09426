"""``neurona.nn``: layers, losses and model building blocks, as ``torch.nn``.

``Module`` and ``Parameter`` are the base; layers (``Linear``, ``Conv2d``, pooling,
``BatchNorm1d/2d``, ``Dropout``, activations), containers (``Sequential``, ``ModuleList``,
``ModuleDict``) and losses are modules; ``nn.functional`` holds their stateless forms,
``nn.init`` the initialisers, ``nn.utils`` gradient clipping and constraints."""

from neurona.nn import (
    functional,
    init,
    utils,
)
from neurona.nn.activation import (
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Sign,
    Softmax,
    Softplus,
    Tanh,
)
from neurona.nn.constraints import Constraint, MaxNorm, NonNeg
from neurona.nn.container import ModuleDict, ModuleList, Sequential
from neurona.nn.conv import Conv2d
from neurona.nn.dropout import Dropout, GaussianNoise
from neurona.nn.flatten import Flatten, Unflatten
from neurona.nn.linear import Identity, Linear
from neurona.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
)
from neurona.nn.module import Module
from neurona.nn.normalization import BatchNorm1d, BatchNorm2d
from neurona.nn.parameter import Parameter
from neurona.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from neurona.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Constraint",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GRUCell",
    "GaussianNoise",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LSTMCell",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxNorm",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiMarginLoss",
    "NLLLoss",
    "NonNeg",
    "Parameter",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Sign",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "Softmax",
    "Softplus",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
    "utils",
]
