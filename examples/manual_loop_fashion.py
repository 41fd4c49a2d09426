"""The same dense network on Fashion-MNIST, trained with the loop written out: mini-batches
from a DataLoader, and for each one zero_grad, forward, loss, backward, step. Then the test
accuracy, computed without gradients in eval mode.

    python examples/manual_loop_fashion.py
"""

import neurona
from neurona import models, nn, optim
from neurona.data import DataLoader, TensorDataset

neurona.manual_seed(0)
train, test = neurona.datasets.fashion_mnist(split="both")
loader = DataLoader(TensorDataset(train.images, train.labels), batch_size=128, shuffle=True)

model = models.mlp()
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(1, 6):
    model.train()
    total, seen = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()        # forget the previous batch's gradients
        loss = loss_fn(model(x), y)  # forward pass and loss
        loss.backward()              # backward pass: gradients of the loss
        optimizer.step()             # one Adam update of every parameter
        total += loss.item() * len(y)
        seen += len(y)
    model.eval()
    with neurona.no_grad():
        pred = model(test.images).argmax(dim=1)
    acc = (pred == test.labels).float().mean().item()
    print(f"epoch {epoch}: training loss {total / seen:.4f}, test accuracy {acc:.4f}")
