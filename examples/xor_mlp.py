"""XOR with a hidden layer: what one perceptron cannot do, two layers can. A 2-4-1 network
with sigmoid units learns it by backpropagation and gradient descent (the course's first
multilayer network), written as the explicit training loop.

    python examples/xor_mlp.py
"""

import neurona
from neurona import nn, optim

neurona.manual_seed(0)
x, y = neurona.datasets.xor()
y = y.float().reshape(-1, 1)

model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))  # outputs a logit
loss_fn = nn.BCEWithLogitsLoss()
optimizer = optim.SGD(model.parameters(), lr=1.0, momentum=0.9)

for epoch in range(1, 501):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()  # backpropagation through the computational graph
    optimizer.step()
    if epoch % 100 == 0:
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}")

with neurona.no_grad():
    p = neurona.sigmoid(model(x))
for xi, pi in zip(x.tolist(), p.reshape(-1).tolist()):
    print(f"{xi} -> {pi:.3f}")
