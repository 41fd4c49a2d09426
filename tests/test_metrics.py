"""neurona.metrics against confusion matrices worked out by hand, scikit-learn's documented
examples, and a per-sample loop re-deriving scikit-learn's formulas."""

import warnings

import neurona
import numpy as np
import pytest
from neurona import metrics as M

# Example A, three classes, 10 samples.
#   y_true = 0 0 0 1 1 2 2 2 2 2
#   y_pred = 0 1 0 1 2 2 2 0 2 1
# Confusion matrix (rows true, cols predicted):
#   true 0 -> predicted 0,1,0     -> [2, 1, 0]
#   true 1 -> predicted 1,2       -> [0, 1, 1]
#   true 2 -> predicted 2,2,0,2,1 -> [1, 1, 3]
# column sums [3, 3, 4], row sums (support) [3, 2, 5]
# TP = diag = [2, 1, 3]; FP = col - TP = [1, 2, 1]; FN = row - TP = [1, 1, 2]
# TN = 10 - TP - FP - FN = [6, 6, 4]
A_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
A_PRED = [0, 1, 0, 1, 2, 2, 2, 0, 2, 1]
A_CM = [[2, 1, 0], [0, 1, 1], [1, 1, 3]]


def test_confusion_matrix_by_hand():
    cm = M.confusion_matrix(A_TRUE, A_PRED)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, A_CM)
    np.testing.assert_array_equal(M.confusion_matrix(A_TRUE, A_PRED, num_classes=4)[:3, :3], A_CM)
    assert M.confusion_matrix(A_TRUE, A_PRED, num_classes=4)[3].sum() == 0
    # normalize="true": rows / [3, 2, 5]
    np.testing.assert_allclose(
        M.confusion_matrix(A_TRUE, A_PRED, normalize="true"),
        [[2 / 3, 1 / 3, 0], [0, 1 / 2, 1 / 2], [1 / 5, 1 / 5, 3 / 5]],
    )
    # normalize="pred": columns / [3, 3, 4]
    np.testing.assert_allclose(
        M.confusion_matrix(A_TRUE, A_PRED, normalize="pred"),
        [[2 / 3, 1 / 3, 0], [0, 1 / 3, 1 / 4], [1 / 3, 1 / 3, 3 / 4]],
    )


def test_per_class_metrics_by_hand():
    np.testing.assert_allclose(M.precision(A_TRUE, A_PRED), [2 / 3, 1 / 3, 3 / 4])  # TP/(TP+FP)
    np.testing.assert_allclose(M.recall(A_TRUE, A_PRED), [2 / 3, 1 / 2, 3 / 5])  # TP/(TP+FN)
    np.testing.assert_allclose(M.specificity(A_TRUE, A_PRED), [6 / 7, 6 / 8, 4 / 5])  # TN/(TN+FP)
    np.testing.assert_allclose(M.npv(A_TRUE, A_PRED), [6 / 7, 6 / 7, 4 / 6])  # TN/(TN+FN)
    np.testing.assert_allclose(M.f1(A_TRUE, A_PRED), [4 / 6, 2 / 5, 6 / 9])  # 2TP/(2TP+FP+FN)
    assert M.accuracy(A_TRUE, A_PRED) == pytest.approx(6 / 10)


def test_averages_by_hand():
    # macro: plain means of the per-class values above
    assert M.precision(A_TRUE, A_PRED, "macro") == pytest.approx((2 / 3 + 1 / 3 + 3 / 4) / 3)
    assert M.f1(A_TRUE, A_PRED, "macro") == pytest.approx((4 / 6 + 2 / 5 + 6 / 9) / 3)
    # micro: summed counts. sum TP = 6, sum FP = 4, sum FN = 4, sum TN = 16
    assert M.precision(A_TRUE, A_PRED, "micro") == pytest.approx(6 / 10)
    assert M.recall(A_TRUE, A_PRED, "micro") == pytest.approx(6 / 10)
    assert M.f1(A_TRUE, A_PRED, "micro") == pytest.approx(12 / 20)
    assert M.specificity(A_TRUE, A_PRED, "micro") == pytest.approx(16 / 20)
    assert M.npv(A_TRUE, A_PRED, "micro") == pytest.approx(16 / 20)
    # weighted by support [3, 2, 5]
    assert M.precision(A_TRUE, A_PRED, "weighted") == pytest.approx(
        (3 * 2 / 3 + 2 * 1 / 3 + 5 * 3 / 4) / 10
    )
    assert M.recall(A_TRUE, A_PRED, "weighted") == pytest.approx(6 / 10)  # always = accuracy


def test_binary_by_hand():
    # y_true has 4 positives; 3 found (TP=3, FN=1), one negative flagged (FP=1), TN=5.
    t = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    p = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    assert M.precision(t, p, "binary") == pytest.approx(3 / 4)
    assert M.recall(t, p, "binary") == pytest.approx(3 / 4)
    assert M.specificity(t, p, "binary") == pytest.approx(5 / 6)
    assert M.npv(t, p, "binary") == pytest.approx(5 / 6)
    assert M.f1(t, p, "binary") == pytest.approx(6 / 8)
    # With class 0 as the positive one the roles swap: precision(0) = TN/(TN+FN) = 5/6.
    assert M.precision(t, p, "binary", pos_label=0) == pytest.approx(5 / 6)
    assert M.specificity(t, p, "binary", pos_label=0) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="two classes"):
        M.precision(A_TRUE, A_PRED, "binary")
    # All-negative data still is a two-class problem.
    assert M.recall([0, 0], [0, 1], "binary") == 0.0


def test_scikit_learn_documented_examples():
    # precision_score / recall_score / f1_score docstring examples of scikit-learn.
    t = [0, 1, 2, 0, 1, 2]
    p = [0, 2, 1, 0, 0, 1]
    assert M.precision(t, p, "macro") == pytest.approx(0.2222222, abs=1e-6)
    assert M.precision(t, p, "micro") == pytest.approx(0.3333333, abs=1e-6)
    assert M.precision(t, p, "weighted") == pytest.approx(0.2222222, abs=1e-6)
    np.testing.assert_allclose(M.precision(t, p), [0.6666667, 0, 0], atol=1e-6)
    assert M.recall(t, p, "macro") == pytest.approx(0.3333333, abs=1e-6)
    np.testing.assert_allclose(M.recall(t, p), [1, 0, 0])
    assert M.f1(t, p, "macro") == pytest.approx(0.2666667, abs=1e-6)
    assert M.f1(t, p, "weighted") == pytest.approx(0.2666667, abs=1e-6)
    np.testing.assert_allclose(M.f1(t, p), [0.8, 0, 0])


def _reference(t, p, c):
    """Per-sample loops following scikit-learn's definitions, no confusion matrix."""
    per = {}
    for k in range(c):
        tp = sum(1 for a, b in zip(t, p) if a == k and b == k)
        fp = sum(1 for a, b in zip(t, p) if a != k and b == k)
        fn = sum(1 for a, b in zip(t, p) if a == k and b != k)
        tn = sum(1 for a, b in zip(t, p) if a != k and b != k)
        per[k] = (tp, fp, fn, tn)
    present = [k for k in range(c) if k in t or k in p]

    def ratio(a, b):
        return a / b if b else 0.0

    prec = {k: ratio(v[0], v[0] + v[1]) for k, v in per.items()}
    rec = {k: ratio(v[0], v[0] + v[2]) for k, v in per.items()}
    f1 = {k: (2 * prec[k] * rec[k] / (prec[k] + rec[k]) if prec[k] + rec[k] else 0.0)
          for k in per}
    sup = {k: per[k][0] + per[k][2] for k in per}
    out = {}
    for name, vals in (("precision", prec), ("recall", rec), ("f1", f1)):
        out[name, None] = [vals[k] for k in range(c)]
        out[name, "macro"] = sum(vals[k] for k in present) / len(present)
        out[name, "weighted"] = sum(vals[k] * sup[k] for k in present) / len(t)
    stp = sum(per[k][0] for k in present)
    sfp = sum(per[k][1] for k in present)
    sfn = sum(per[k][2] for k in present)
    out["precision", "micro"] = ratio(stp, stp + sfp)
    out["recall", "micro"] = ratio(stp, stp + sfn)
    out["f1", "micro"] = ratio(2 * stp, 2 * stp + sfp + sfn)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_against_per_sample_reference(seed):
    rng = np.random.default_rng(seed)
    c = int(rng.integers(2, 7))
    n = int(rng.integers(5, 60))
    t = rng.integers(0, c, n)
    # mostly right, some wrong, and some classes possibly missing
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, c, n))
    cc = int(max(t.max(), p.max())) + 1
    ref = _reference(t.tolist(), p.tolist(), cc)
    fns = {"precision": M.precision, "recall": M.recall, "f1": M.f1}
    for (name, avg), expected in ref.items():
        got = fns[name](t, p, average=avg)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=f"{name} {avg}")


def test_absent_class_and_num_classes():
    # y_true = 0 0 2 2, y_pred = 0 2 2 2: class 1 never occurs.
    # precision per class: class 0 = 1/1, class 1 = 0/0 -> 0, class 2 = 2/3
    t, p = [0, 0, 2, 2], [0, 2, 2, 2]
    np.testing.assert_allclose(M.precision(t, p), [1, 0, 2 / 3])
    assert M.precision(t, p, "macro") == pytest.approx((1 + 2 / 3) / 2)  # over present classes
    assert M.precision(t, p, "macro", num_classes=3) == pytest.approx((1 + 0 + 2 / 3) / 3)
    with pytest.raises(ValueError, match="out of range"):
        M.precision(t, p, num_classes=2)


def test_zero_division_is_explicit_and_silent():
    # Class 1 is never predicted: precision(1) = 0/0.
    t, p = [0, 0, 1, 1], [0, 0, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.precision(t, p)[1] == 0.0
        assert M.precision(t, p, zero_division=1.0)[1] == 1.0
        assert np.isnan(M.precision(t, p, zero_division=np.nan)[1])
        assert M.f1([0, 0], [0, 0], num_classes=2)[1] == 0.0
        assert M.specificity([1, 1], [1, 1], "binary") == 0.0  # no negatives: TN+FP = 0
    with pytest.raises(ValueError):
        M.precision(t, p, zero_division=0.5)


def test_scores_and_tensors_are_accepted():
    logits = np.array([[2.0, 0.1, -1], [0, 3, 1], [0.5, 0.2, 0.9], [1, 0, 0]])  # argmax 0 1 2 0
    t = np.array([0, 1, 1, 0])
    assert M.accuracy(t, logits) == pytest.approx(3 / 4)
    assert M.accuracy(neurona.from_numpy(t), neurona.from_numpy(logits)) == pytest.approx(3 / 4)
    one_hot = np.eye(3)[t]
    np.testing.assert_array_equal(M.confusion_matrix(one_hot, logits), [[2, 0, 0], [0, 1, 1],
                                                                        [0, 0, 0]])
    # The width of a score matrix sets the number of classes.
    assert M.confusion_matrix([0, 0], np.array([[1.0, 0, 0, 0], [1, 0, 0, 0]])).shape == (4, 4)
    assert M.accuracy([1, 0], np.array([[1], [0]])) == 1.0  # an (N, 1) column of labels
    with pytest.raises(ValueError, match="non-integer"):
        M.accuracy([1, 0], [0.7, 0.2])


def test_mismatched_and_bad_inputs():
    for fn in (M.accuracy, M.confusion_matrix, M.precision, M.recall, M.f1, M.specificity, M.npv):
        with pytest.raises(ValueError, match="same number of samples"):
            fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="negative"):
        M.accuracy([0, -1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])
    with pytest.raises(ValueError, match="average"):
        M.f1(A_TRUE, A_PRED, average="mean")
    with pytest.raises(ValueError, match="samples"):
        M.f1(A_TRUE, A_PRED, average="samples")


# ---------------------------------------------------------------- classification_report

# scikit-learn's documented classification_report example, verbatim.
SKLEARN_REPORT = """\
              precision    recall  f1-score   support

     class 0       0.50      1.00      0.67         1
     class 1       0.00      0.00      0.00         1
     class 2       1.00      0.67      0.80         3

    accuracy                           0.60         5
   macro avg       0.50      0.56      0.49         5
weighted avg       0.70      0.60      0.61         5
"""


def test_classification_report_text_matches_scikit_learn():
    report = M.classification_report(
        [0, 1, 2, 2, 2], [0, 0, 2, 2, 1], target_names=["class 0", "class 1", "class 2"]
    )
    assert report == SKLEARN_REPORT


def test_classification_report_dict():
    d = M.classification_report(A_TRUE, A_PRED, output_dict=True)
    assert set(d) == {"0", "1", "2", "accuracy", "macro avg", "weighted avg"}
    assert d["accuracy"] == pytest.approx(0.6)
    assert d["1"] == {"precision": pytest.approx(1 / 3), "recall": pytest.approx(1 / 2),
                      "f1-score": pytest.approx(2 / 5), "support": 2}
    assert d["macro avg"]["precision"] == pytest.approx((2 / 3 + 1 / 3 + 3 / 4) / 3)
    assert d["weighted avg"]["support"] == 10
    text = M.classification_report(A_TRUE, A_PRED, digits=4)
    assert "0.6667" in text and "0.3333" in text


# ---------------------------------------------------------------- multi-label

# y_true (4 samples, 3 labels) and scores; thresholded at 0.5 the predictions are
#   [[1,0,0],[0,1,1],[1,0,0],[0,0,1]]
# label 0: t=1010 p=1010 -> TP 2 FP 0 FN 0 TN 2
# label 1: t=0110 p=0100 -> TP 1 FP 0 FN 1 TN 2
# label 2: t=1001 p=0101 -> TP 1 FP 1 FN 1 TN 1
ML_TRUE = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
ML_SCORES = np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7], [0.6, 0.3, 0.1], [0.2, 0.1, 0.95]])


def test_multilabel_by_hand():
    mcm = M.multilabel_confusion_matrix(ML_TRUE, ML_SCORES)
    np.testing.assert_array_equal(mcm, [[[2, 0], [0, 2]], [[2, 0], [1, 1]], [[1, 1], [1, 1]]])
    np.testing.assert_allclose(M.multilabel_precision(ML_TRUE, ML_SCORES), [1, 1, 1 / 2])
    np.testing.assert_allclose(M.multilabel_recall(ML_TRUE, ML_SCORES), [1, 1 / 2, 1 / 2])
    np.testing.assert_allclose(M.multilabel_f1(ML_TRUE, ML_SCORES), [1, 2 / 3, 1 / 2])
    np.testing.assert_allclose(M.multilabel_specificity(ML_TRUE, ML_SCORES), [1, 1, 1 / 2])
    np.testing.assert_allclose(M.multilabel_npv(ML_TRUE, ML_SCORES), [1, 2 / 3, 1 / 2])
    # micro: TP 4, FP 1, FN 2
    assert M.multilabel_precision(ML_TRUE, ML_SCORES, "micro") == pytest.approx(4 / 5)
    assert M.multilabel_recall(ML_TRUE, ML_SCORES, "micro") == pytest.approx(4 / 6)
    assert M.multilabel_f1(ML_TRUE, ML_SCORES, "micro") == pytest.approx(8 / 11)
    assert M.multilabel_f1(ML_TRUE, ML_SCORES, "macro") == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    # samples: per sample (P, R, F) = (1, 1/2, 2/3), (1/2, 1, 2/3), (1, 1/2, 2/3), (1, 1, 1)
    assert M.multilabel_precision(ML_TRUE, ML_SCORES, "samples") == pytest.approx(3.5 / 4)
    assert M.multilabel_recall(ML_TRUE, ML_SCORES, "samples") == pytest.approx(3 / 4)
    assert M.multilabel_f1(ML_TRUE, ML_SCORES, "samples") == pytest.approx(3 / 4)
    # only the last sample is entirely right; 3 of the 12 labels are wrong
    assert M.multilabel_accuracy(ML_TRUE, ML_SCORES) == pytest.approx(1 / 4)
    assert M.hamming_loss(ML_TRUE, ML_SCORES) == pytest.approx(3 / 12)


def test_multilabel_threshold_and_errors():
    logits = np.log(ML_SCORES / (1 - ML_SCORES))  # same decisions at threshold 0 on logits
    np.testing.assert_array_equal(M.multilabel_confusion_matrix(ML_TRUE, logits, threshold=0.0),
                                  M.multilabel_confusion_matrix(ML_TRUE, ML_SCORES))
    assert M.multilabel_accuracy(ML_TRUE, ML_SCORES, threshold=0.35) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="same shape"):
        M.multilabel_f1(ML_TRUE, ML_SCORES[:3])
    with pytest.raises(ValueError, match="0 and 1"):
        M.multilabel_f1(ML_TRUE * 2, ML_SCORES)
    with pytest.raises(ValueError, match="binary"):
        M.multilabel_f1(ML_TRUE, ML_SCORES, average="binary")


def test_multilabel_report():
    text = M.classification_report(ML_TRUE, ML_SCORES, multilabel=True,
                                   target_names=["cat", "dog", "bird"])
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[2].split() == ["cat", "1.00", "1.00", "1.00", "2"]
    assert lines[4].split() == ["bird", "0.50", "0.50", "0.50", "2"]
    assert "samples avg       0.88      0.75      0.75         6" in text
    assert "micro avg       0.80      0.67      0.73         6" in text


# ---------------------------------------------------------------- regression


def test_regression_by_hand():
    # errors -0.5, 0, 1, -1: squares 0.25, 0, 1, 1; mean y = 2.5, SS_tot = 5, SS_res = 2.25
    y = [1.0, 2.0, 3.0, 4.0]
    p = [1.5, 2.0, 2.0, 5.0]
    assert M.mse(y, p) == pytest.approx(2.25 / 4)
    assert M.rmse(y, p) == pytest.approx(np.sqrt(2.25 / 4))
    assert M.mae(y, p) == pytest.approx(2.5 / 4)
    assert M.r2_score(y, p) == pytest.approx(1 - 2.25 / 5)
    # (N,) against (N, 1) is read as (N,), not broadcast to (N, N)
    col = neurona.from_numpy(np.array(p).reshape(-1, 1))
    assert M.mse(y, col) == pytest.approx(2.25 / 4)
    # two outputs: R^2 = mean(0.55, 1.0)
    y2 = np.stack([y, [0, 0, 1, 1]], 1)
    p2 = np.stack([p, [0, 0, 1, 1]], 1)
    assert M.r2_score(y2, p2) == pytest.approx((0.55 + 1.0) / 2)


def test_regression_edge_cases():
    assert M.r2_score([3, 3, 3], [3, 3, 3]) == 1.0  # constant and perfect
    assert M.r2_score([3, 3, 3], [3, 3, 4]) == 0.0  # constant, imperfect
    assert M.r2_score([1, 2, 3], [3, 2, 1]) == pytest.approx(1 - 8 / 2)
    with pytest.raises(ValueError, match="same shape"):
        M.mse([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="same shape"):
        M.mae(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        M.mse([], [])
