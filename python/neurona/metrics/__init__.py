"""Metrics on Tensors or arrays: classification (single- and multi-label) and regression.

Scalars come back as Python floats, per-class values and confusion matrices as numpy arrays.
"""

from .classification import (
    accuracy,
    confusion_matrix,
    f1,
    npv,
    precision,
    recall,
    specificity,
)
from .multilabel import (
    hamming_loss,
    multilabel_accuracy,
    multilabel_confusion_matrix,
    multilabel_f1,
    multilabel_npv,
    multilabel_precision,
    multilabel_recall,
    multilabel_specificity,
)
from .regression import mae, mse, r2_score, rmse
from .report import classification_report

__all__ = [
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "f1",
    "hamming_loss",
    "mae",
    "mse",
    "multilabel_accuracy",
    "multilabel_confusion_matrix",
    "multilabel_f1",
    "multilabel_npv",
    "multilabel_precision",
    "multilabel_recall",
    "multilabel_specificity",
    "npv",
    "precision",
    "r2_score",
    "recall",
    "rmse",
    "specificity",
]
