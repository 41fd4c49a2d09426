"""A dense network on Fashion-MNIST with `fit`: Keras' one-call training loop with a
validation split, an accuracy metric and learning curves.

    python examples/fit_mlp_fashion.py          # the curves go to mlp_curves.png if matplotlib
"""

import neurona
from neurona import models, nn, optim
from neurona.train import evaluate, fit

neurona.manual_seed(0)
train, test = neurona.datasets.fashion_mnist(split="both")
print(f"{len(train)} training images from {train.source}")

model = models.mlp()  # Flatten - 784-256-128-10 with ReLU
history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), train,
              validation_split=0.1, epochs=10, batch_size=128, metrics=["accuracy"], seed=0)

result = evaluate(model, nn.CrossEntropyLoss(), test, metrics=["accuracy"])
print(f"test loss {result['loss']:.4f}, test accuracy {result['accuracy']:.4f}")
try:
    print("learning curves:", history.plot("mlp_curves.png"))
except ImportError as e:
    print(e)
