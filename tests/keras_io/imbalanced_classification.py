import os
import sys
import tempfile

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
else:
    import minicnn as keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
features = rng.standard_normal((120, 6)).astype("float32") * 5 + 3
targets = (rng.random((120, 1)) < 0.1).astype("uint8")
num_val_samples = 30
train_features, val_features = features[:-num_val_samples], features[-num_val_samples:]
train_targets, val_targets = targets[:-num_val_samples], targets[-num_val_samples:]
counts = np.bincount(train_targets[:, 0])
print(
    f"Number of positive samples in training data: {counts[1]} "
    f"({100 * float(counts[1]) / len(train_targets):.2f}% of total)"
)
weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]
mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std


def make_model(dropout):
    return keras.Sequential(
        [
            keras.Input(shape=train_features.shape[1:]),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(16, activation="relu"),
            *([keras.layers.Dropout(0.3)] if dropout else []),
            keras.layers.Dense(16, activation="relu"),
            *([keras.layers.Dropout(0.3)] if dropout else []),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]
model = make_model(dropout=True)
model.summary()
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
wr = np.random.default_rng(3)
weights = [(wr.standard_normal(w.shape) * 0.5).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
print(np.round(model.evaluate(val_features, val_targets, verbose=0), 4).tolist())
folder = tempfile.mkdtemp()
callbacks = [
    keras.callbacks.ModelCheckpoint(os.path.join(folder, "fraud_model_at_epoch_{epoch}.keras"))
]
class_weight = {0: weight_for_0, 1: weight_for_1}
history = model.fit(
    train_features,
    train_targets,
    batch_size=32,
    epochs=2,
    verbose=0,
    callbacks=callbacks,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
print(sorted(history.history), sorted(os.listdir(folder)))
# The same model without its Dropout layers (whose masks each library draws its own way):
# what the class weights make of the losses and counts.
plain = make_model(dropout=False)
plain.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
plain.set_weights(weights)
history = plain.fit(
    train_features,
    train_targets,
    batch_size=32,
    epochs=2,
    verbose=0,
    shuffle=False,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
for key in sorted(history.history):
    print(key, np.round(history.history[key], 4).tolist())
loaded = keras.models.load_model(os.path.join(folder, "fraud_model_at_epoch_2.keras"))
print(
    type(loaded).__name__,
    loaded.metrics_names,
    loaded.optimizer.iterations.numpy(),
)
