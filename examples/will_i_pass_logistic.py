"""Logistic regression on "will I pass the class?": from hours studied and lectures
attended, the probability of passing is sigmoid(w . x + b). One linear unit, the binary
cross-entropy loss, and `fit`.

    python examples/will_i_pass_logistic.py
"""

import neurona
from neurona import nn, optim
from neurona.data import Standardize
from neurona.train import fit

neurona.manual_seed(0)
x, y = neurona.datasets.will_i_pass(n=200)
scale = Standardize().fit(x)  # features on comparable scales help gradient descent
xs, yf = scale(x), y.float().reshape(-1, 1)

model = nn.Linear(2, 1)
history = fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.5), (xs, yf),
              validation_split=0.2, epochs=60, batch_size=16, metrics=["accuracy"], verbose=0,
              seed=0)
print(f"loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.3f}, "
      f"validation accuracy {history.history['val_accuracy'][-1]:.2f}")

for hours, lectures in [(2.0, 4.0), (5.0, 8.0), (8.0, 10.0)]:
    with neurona.no_grad():
        p = neurona.sigmoid(model(scale(neurona.tensor([[hours, lectures]])))).item()
    print(f"{hours:4.1f} h studied, {lectures:4.1f} lectures: P(pass) = {p:.2f}")
