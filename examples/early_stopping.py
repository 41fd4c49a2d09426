"""Early stopping against overfitting: a wide network trained on only 2 000 images starts
memorising them; validation loss turns up while training loss keeps falling. EarlyStopping
stops after `patience` epochs without improvement and puts back the best weights;
ModelCheckpoint keeps the best model on disk.

    python examples/early_stopping.py
"""

import neurona
from neurona import nn, optim
from neurona.train import EarlyStopping, ModelCheckpoint, evaluate, fit

neurona.manual_seed(0)
train, test = neurona.datasets.fashion_mnist(split="both")
x, y = train.images[:2000], train.labels[:2000]  # a small training set overfits quickly

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                      nn.ReLU(), nn.Linear(512, 10))
stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True, verbose=1)
keep = ModelCheckpoint("best_weights.safetensors", monitor="val_loss", save_best_only=True,
                       save_weights_only=True)
history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), (x, y),
              validation_split=0.2, epochs=100, batch_size=64, metrics=["accuracy"],
              callbacks=[stop, keep], verbose=2, seed=0)

print(f"ran {len(history.epoch)} of 100 epochs; best epoch {stop.best_epoch + 1} with "
      f"val_loss {stop.best:.4f}")
print(f"test accuracy with the restored best weights: "
      f"{evaluate(model, None, test, metrics=['accuracy'])['accuracy']:.4f}")
