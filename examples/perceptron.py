"""The perceptron (Rosenblatt, 1958): a weighted sum, a step, and the learning rule
w <- w + lr * (y - y_hat) * x. It learns AND and OR, which a line separates, and never XOR.

    python examples/perceptron.py
"""

import neurona

GATES = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "XOR": [0, 1, 1, 0],
}


def train_perceptron(x, y, epochs=20, lr=0.1):
    w = neurona.zeros(x.shape[1])
    b = neurona.tensor(0.0)
    for _ in range(epochs):
        errors = 0
        for xi, yi in zip(x, y):
            y_hat = (xi @ w + b >= 0).float()  # the step activation
            err = yi - y_hat
            w += lr * err * xi  # the perceptron learning rule
            b += lr * err
            errors += int(err.item() != 0)
        if errors == 0:  # converged: every point on the right side of the line
            break
    return w, b


x, _ = neurona.datasets.xor()  # the four corners of the unit square
for name, labels in GATES.items():
    y = neurona.tensor(labels, dtype=neurona.float32)
    w, b = train_perceptron(x, y)
    pred = (x @ w + b >= 0).long()
    ok = pred.tolist() == labels
    print(f"{name:3s}: w = {[round(v, 2) for v in w.tolist()]}, b = {b.item():+.1f}, "
          f"predictions {pred.tolist()} "
          f"{'learned' if ok else 'NOT learnable by one perceptron'}")
