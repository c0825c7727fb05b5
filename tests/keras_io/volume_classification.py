import os
import sys
import tempfile

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
# CT volumes, cut to 8x8x6: a bright blob in the "abnormal" ones.
x = rng.random((24, 8, 8, 6)).astype("float32") * 0.5
y = np.arange(24) % 2
x[y == 1, 2:6, 2:6, 1:5] += 0.6
x_train, y_train, x_val, y_val = x[:16], y[:16], x[16:], y[16:]


def get_model(width=8, height=8, depth=6):
    inputs = keras.Input((width, height, depth, 1))
    x = layers.Conv3D(filters=4, kernel_size=3, activation="relu")(inputs)
    x = layers.MaxPool3D(pool_size=2)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Conv3D(filters=4, kernel_size=1, activation="relu")(x)
    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dense(units=8, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(units=1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="3dcnn")


model = get_model()
model.summary()
model.get_layer(index=-2).rate = 0.0
wrng = np.random.default_rng(1)
model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.4).astype("float32") if w.ndim > 1 else w
        for w in model.get_weights()
    ]
)
initial_learning_rate = 0.01
lr_schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate, decay_steps=3, decay_rate=0.96, staircase=True
)
print([float(lr_schedule(step)) for step in (0, 2, 3, 7)])
model.compile(
    loss="binary_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=lr_schedule),
    metrics=["acc"],
)
folder = tempfile.mkdtemp()
checkpoint_cb = keras.callbacks.ModelCheckpoint(
    os.path.join(folder, "3d_image_classification.keras"), save_best_only=True
)
early_stopping_cb = keras.callbacks.EarlyStopping(monitor="val_acc", patience=2)
history = model.fit(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    epochs=4,
    batch_size=4,
    shuffle=False,
    verbose=0,
    callbacks=[checkpoint_cb, early_stopping_cb],
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
rate = round(float(model.optimizer.learning_rate), 7)  # Keras' XLA pow: 1 ulp off
print(len(history.epoch), rate, int(model.optimizer.iterations))
best = keras.models.load_model(os.path.join(folder, "3d_image_classification.keras"))
print(best.name, [m.name for m in best.metrics], best.optimizer.get_config()["learning_rate"])
prediction = best.predict(np.expand_dims(x_val[0], axis=0), verbose=0)[0]
scores = [1 - prediction[0], prediction[0]]
class_names = ["normal", "abnormal"]
for score, name in zip(scores, class_names, strict=True):
    print(f"This model is {100 * score:.2f} percent confident that CT scan is {name}")
