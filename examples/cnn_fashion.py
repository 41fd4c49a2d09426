"""A convolutional network on Fashion-MNIST: two 3x3 convolutions with ReLU and 2x2 max
pooling, then two dense layers. Weight sharing and local receptive fields beat the dense
network with fewer parameters.

    python examples/cnn_fashion.py
"""

import neurona
from neurona import models, nn, optim
from neurona.train import evaluate, fit

neurona.manual_seed(0)
train, test = neurona.datasets.fashion_mnist(split="both")

model = models.cnn()  # conv3x3(32)-ReLU-pool2 - conv3x3(64)-ReLU-pool2 - fc128 - fc10
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), train,
    val_data=test, epochs=5, batch_size=128, metrics=["accuracy"], seed=0)
print(f"test accuracy: {evaluate(model, None, test, metrics=['accuracy'])['accuracy']:.4f}")
neurona.save(model, "cnn_fashion.safetensors")
print("weights saved to cnn_fashion.safetensors (neurona eval cnn_fashion.safetensors "
      "--model cnn)")
