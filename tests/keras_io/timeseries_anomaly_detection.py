"""keras.io example "Timeseries anomaly detection using an Autoencoder": a Conv1D /
Conv1DTranspose reconstruction autoencoder (strided, 'same' padding, dropout) trained with
validation_split and EarlyStopping, its reconstruction error's threshold, and the test
windows above it. Made on a synthetic daily signal (the example reads the NAB data), with
the weights set from one seed in both libraries so that the numbers can be compared."""

import os
import sys

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
TIME_STEPS = 48
t = np.arange(600)
train_values = np.sin(2 * np.pi * t / 48) + 0.05 * rng.standard_normal(600)
test_values = train_values.copy()
test_values[300:340] += 2.5  # the jump the example's test data has
training_mean, training_std = train_values.mean(), train_values.std()
df_training_value = ((train_values - training_mean) / training_std)[:, None]
print("Number of training samples:", len(df_training_value))


def create_sequences(values, time_steps=TIME_STEPS):
    output = []
    for i in range(len(values) - time_steps + 1):
        output.append(values[i : (i + time_steps)])
    return np.stack(output)


x_train = create_sequences(df_training_value).astype("float32")
print("Training input shape: ", x_train.shape)
model = keras.Sequential(
    [
        layers.Input(shape=(x_train.shape[1], x_train.shape[2])),
        layers.Conv1D(filters=32, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Dropout(rate=0.2),
        layers.Conv1D(filters=16, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(
            filters=16, kernel_size=7, padding="same", strides=2, activation="relu"
        ),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(
            filters=32, kernel_size=7, padding="same", strides=2, activation="relu"
        ),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
model.summary()
model.set_weights([rng.normal(0, 0.2, w.shape).astype("float32") for w in model.get_weights()])
print([round(float(v), 4) for v in model.predict(x_train[:1], verbose=0)[0, :5, 0]])
# (the example: 50 epochs of the dropout layers' own random masks, which differ between
# libraries; here the dropout is off for the comparison, rate 0 as set below)
for layer in model.layers:
    if isinstance(layer, layers.Dropout):
        layer.rate = 0.0
history = model.fit(
    x_train,
    x_train,
    epochs=6,
    batch_size=128,
    validation_split=0.1,
    shuffle=False,
    verbose=0,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, mode="min")],
)
print({k: [round(v, 3) for v in vs] for k, vs in sorted(history.history.items())})
x_train_pred = model.predict(x_train, verbose=0)
train_mae_loss = np.mean(np.abs(x_train_pred - x_train), axis=1)
threshold = np.max(train_mae_loss)
print("Reconstruction error threshold: ", round(float(threshold), 4))
df_test_value = ((test_values - training_mean) / training_std)[:, None]
x_test = create_sequences(df_test_value).astype("float32")
print("Test input shape: ", x_test.shape)
x_test_pred = model.predict(x_test, verbose=0)
test_mae_loss = np.mean(np.abs(x_test_pred - x_test), axis=1)
test_mae_loss = test_mae_loss.reshape(-1)
anomalies = test_mae_loss > threshold
print("Number of anomaly samples: ", np.sum(anomalies))
anomalous_data_indices = []
for data_idx in range(TIME_STEPS - 1, len(df_test_value) - TIME_STEPS + 1):
    if np.all(anomalies[data_idx - TIME_STEPS + 1 : data_idx]):
        anomalous_data_indices.append(data_idx)
print("Anomalous points:", anomalous_data_indices[:3], len(anomalous_data_indices))
