"""``neurona.optim``: optimizers (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW) with
PyTorch's interface, each step one fused Rust kernel per parameter, and learning-rate
schedulers in ``neurona.optim.lr_scheduler``."""

from neurona.optim import lr_scheduler
from neurona.optim.adadelta import Adadelta
from neurona.optim.adagrad import Adagrad
from neurona.optim.adam import Adam, AdamW
from neurona.optim.optimizer import Optimizer
from neurona.optim.rmsprop import RMSprop
from neurona.optim.sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
