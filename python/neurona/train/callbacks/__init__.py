"""Keras-style training callbacks for `neurona.train.fit`."""

from .base import Callback, CallbackList, RunState
from .early_stopping import EarlyStopping
from .model_checkpoint import ModelCheckpoint
from .reduce_lr import ReduceLROnPlateau
from .small import CSVLogger, LambdaCallback, TerminateOnNaN

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "LambdaCallback",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "RunState",
    "TerminateOnNaN",
]
