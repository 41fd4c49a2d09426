"""Training in the Keras style: `fit` with a History, callbacks, progress bars, metrics and
resumable full checkpoints.

    from neurona.train import fit
    from neurona.train.callbacks import EarlyStopping
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                  (X, y), validation_split=0.1, epochs=10, metrics=["accuracy"],
                  callbacks=[EarlyStopping(patience=2, restore_best_weights=True)])
    history.plot("curves.png")
"""

from . import callbacks
from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from .checkpoint import load_training_checkpoint, save_training_checkpoint
from .fit import evaluate, fit, predict
from .history import History

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "callbacks",
    "evaluate",
    "fit",
    "load_training_checkpoint",
    "predict",
    "save_training_checkpoint",
]
