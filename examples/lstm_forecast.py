"""Forecasting a monthly series with an LSTM.

The series ships with neurona (20 years of a trending, seasonal monthly record). The last two
years are held out; an LSTM reads 24 months and predicts the change to the next one. It then
forecasts the held-out years two ways: one step ahead (each month from the true history) and
recursively (24 months from the end of the training data, feeding its own predictions back).
A seasonal-naive forecast (the value 12 months earlier) is the baseline to beat.

    python examples/lstm_forecast.py [--epochs 300] [--plot forecast.png]

With matplotlib installed, --plot saves the forecast against the truth; without it the table
of months is printed.
"""

import argparse

import neurona
import numpy as np
from neurona import nn, optim, timeseries
from neurona.data import Standardize

WINDOW, TEST_MONTHS = 24, 24


class Forecaster(nn.Module):
    """LSTM over the window, then a linear map of the last hidden state to the next change."""

    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):  # x: (N, WINDOW, 1) standardised values
        out, _ = self.lstm(x)
        return self.head(out[:, -1])  # (N, 1): predicted change from the window's last value


def predict_next(model, window_values):
    """Next standardised value after each window (N, WINDOW)."""
    x = neurona.tensor(window_values[..., None].astype(np.float32))
    with neurona.no_grad():
        delta = model(x).numpy()[:, 0]
    return window_values[:, -1] + delta


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--plot", metavar="PNG", help="save a plot of forecast vs truth (needs matplotlib)")
    args = ap.parse_args()
    neurona.manual_seed(0)

    series, months = timeseries.load_monthly_series(return_months=True)
    train, test = timeseries.train_test_split(series, test_size=TEST_MONTHS)
    scaler = Standardize().fit(train[:, None])
    scaled = scaler.transform(series[:, None]).numpy()[:, 0]
    s_train = scaled[: len(train)]

    x, y = timeseries.sliding_windows(s_train, window=WINDOW, horizon=1)
    x_t = neurona.tensor(x.astype(np.float32))
    target = neurona.tensor((y[:, 0] - x[:, -1]).astype(np.float32))  # the change to predict

    model = Forecaster()
    opt = optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.MSELoss()
    print(f"{len(x)} training windows of {WINDOW} months, {TEST_MONTHS} months held out")
    for epoch in range(1, args.epochs + 1):
        opt.zero_grad()
        loss = loss_fn(model(x_t), target)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if epoch % 50 == 0 or epoch == 1:
            print(f"epoch {epoch:4d}  train MSE (standardised) {loss.item():.5f}")
    model.eval()

    start = len(train)
    # One step ahead: each test month from the true preceding 24 months.
    windows = np.stack([scaled[t - WINDOW: t] for t in range(start, len(series))])
    one_step = predict_next(model, windows)
    # Recursive: 24 months from the end of the training data, on its own predictions.
    history = list(s_train[-WINDOW:])
    recursive = []
    for _ in range(TEST_MONTHS):
        nxt = predict_next(model, np.asarray(history[-WINDOW:])[None])[0]
        recursive.append(nxt)
        history.append(nxt)

    def unscale(v):
        return scaler.inverse_transform(np.asarray(v, np.float64)[:, None]).numpy()[:, 0]

    one_step, recursive = unscale(one_step), unscale(recursive)
    naive = series[start - 12: len(series) - 12]

    def scores(pred):
        err = pred - test
        return np.sqrt(np.mean(err**2)), 100 * np.mean(np.abs(err) / test)

    print("\nmonth     truth  one-step  recursive  seasonal-naive")
    for k in range(TEST_MONTHS):
        print(f"{months[start + k]}  {test[k]:6.1f}  {one_step[k]:8.1f}  {recursive[k]:9.1f}  {naive[k]:14.1f}")
    print("\nforecast         RMSE    MAPE")
    for name, pred in (("LSTM one-step", one_step), ("LSTM recursive", recursive), ("seasonal naive", naive)):
        rmse, mape = scores(pred)
        print(f"{name:15s} {rmse:6.2f}  {mape:5.2f}%")

    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: the table above is the forecast (pip install matplotlib)")
            return
        t = np.arange(len(series))
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(t, series, color="black", lw=1, label="truth")
        ax.plot(t[start:], one_step, "o-", ms=3, label="LSTM one step ahead")
        ax.plot(t[start:], recursive, "s--", ms=3, label="LSTM recursive (24 months)")
        ax.axvline(start - 0.5, color="grey", ls=":")
        ticks = t[::24]
        ax.set_xticks(ticks, [months[i] for i in ticks], rotation=30)
        ax.set_title("Monthly series: LSTM forecast of the last two years")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot saved to {args.plot}")


if __name__ == "__main__":
    main()
