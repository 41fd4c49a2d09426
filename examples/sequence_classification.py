"""Classifying sequences with a recurrent network.

Each sequence is 40 noisy samples of a wave whose frequency (slow, medium or fast) is the
class to predict; amplitude, phase and offset are random, so no single time step gives the
answer away: the network has to follow the sequence. A one-layer bidirectional GRU reads it,
and a linear layer maps the final hidden states of both directions to the three classes.

    python examples/sequence_classification.py [--cell gru|lstm|rnn] [--epochs 8]
"""

import argparse

import neurona
import numpy as np
from neurona import nn, optim
from neurona.data import DataLoader, TensorDataset

LENGTH, CLASSES = 40, ("slow", "medium", "fast")
PERIODS = (20.0, 10.0, 5.0)  # samples per cycle of each class


def make_waves(n, rng):
    """n sequences (n, LENGTH, 1) and their class labels (n,)."""
    labels = rng.integers(0, len(CLASSES), n)
    t = np.arange(LENGTH)
    period = np.asarray(PERIODS)[labels][:, None] * rng.uniform(0.9, 1.1, (n, 1))
    amplitude = rng.uniform(0.5, 2.0, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    offset = rng.normal(0, 0.5, (n, 1))
    x = amplitude * np.sin(2 * np.pi * t / period + phase) + offset + rng.normal(0, 0.3, (n, LENGTH))
    return x[..., None].astype(np.float32), labels.astype(np.int64)


class Classifier(nn.Module):
    def __init__(self, cell="gru", hidden=32):
        super().__init__()
        kind = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[cell]
        self.rnn = kind(1, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, len(CLASSES))

    def forward(self, x):  # (N, LENGTH, 1)
        _, h_n = self.rnn(x)
        if isinstance(h_n, tuple):  # an LSTM returns (h_n, c_n)
            h_n = h_n[0]
        both = neurona.cat([h_n[0], h_n[1]], dim=1)  # forward and reverse final states
        return self.head(both)


def accuracy(model, x, y):
    with neurona.no_grad():
        pred = model(neurona.tensor(x)).argmax(dim=1).numpy()
    return float((pred == y).mean()), pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", choices=["gru", "lstm", "rnn"], default="gru")
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()
    neurona.manual_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = make_waves(3000, rng)
    x_test, y_test = make_waves(600, rng)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)

    model = Classifier(args.cell)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    print(model)
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
        model.eval()
        acc, _ = accuracy(model, x_test, y_test)
        print(f"epoch {epoch}: train loss {total / count:.4f}  test accuracy {acc:.1%}")

    acc, pred = accuracy(model, x_test, y_test)
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    print(" " * 8 + "".join(f"{c:>8s}" for c in CLASSES))
    for i, c in enumerate(CLASSES):
        row = [int(((y_test == i) & (pred == j)).sum()) for j in range(len(CLASSES))]
        print(f"{c:>8s}" + "".join(f"{v:8d}" for v in row))


if __name__ == "__main__":
    main()
