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
# Moving squares, as Moving MNIST moves digits: 7 frames of 8x8 pixels.
dataset = np.zeros((24, 7, 8, 8), "float32")
for sample in dataset:
    row, col, step = rng.integers(0, 5), rng.integers(0, 3), rng.integers(1, 2)
    for t, frame in enumerate(sample):
        frame[row : row + 3, col + t * step // 2 : col + t * step // 2 + 3] = 1.0
dataset = np.expand_dims(dataset, axis=-1)
indexes = np.arange(dataset.shape[0])
rng.shuffle(indexes)
train_index = indexes[: int(0.75 * dataset.shape[0])]
val_index = indexes[int(0.75 * dataset.shape[0]) :]
train_dataset = dataset[train_index]
val_dataset = dataset[val_index]


def create_shifted_frames(data):
    x = data[:, 0 : data.shape[1] - 1, :, :]
    y = data[:, 1 : data.shape[1], :, :]
    return x, y


x_train, y_train = create_shifted_frames(train_dataset)
x_val, y_val = create_shifted_frames(val_dataset)
print("Training Dataset Shapes: " + str(x_train.shape) + ", " + str(y_train.shape))
print("Validation Dataset Shapes: " + str(x_val.shape) + ", " + str(y_val.shape))

inp = layers.Input(shape=(None, *x_train.shape[2:]))
x = layers.ConvLSTM2D(
    filters=4, kernel_size=(5, 5), padding="same", return_sequences=True, activation="relu"
)(inp)
x = layers.BatchNormalization()(x)
x = layers.ConvLSTM2D(
    filters=4, kernel_size=(3, 3), padding="same", return_sequences=True, activation="relu"
)(x)
x = layers.BatchNormalization()(x)
x = layers.ConvLSTM2D(
    filters=4, kernel_size=(1, 1), padding="same", return_sequences=True, activation="relu"
)(x)
x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(x)
model = keras.models.Model(inp, x)
model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
model.summary()
print([w.path for w in model.weights][:5])
print([tuple(w.shape) for w in model.weights[:3]])

wrng = np.random.default_rng(5)
model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.3).astype("float32") if w.ndim > 1 else w
        for w in model.get_weights()
    ]
)
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
reduce_lr = keras.callbacks.ReduceLROnPlateau(
    monitor="val_loss", patience=1, min_delta=0.005, verbose=1
)
history = model.fit(
    x_train,
    y_train,
    batch_size=6,
    epochs=4,
    validation_data=(x_val, y_val),
    callbacks=[early_stopping, reduce_lr],
    shuffle=False,
    verbose=0,
)
print({k: [round(float(v), 4) for v in vs] for k, vs in history.history.items()})

example = val_dataset[0]
frames = example[:3, ...]
for _ in range(3):
    new_prediction = model.predict(np.expand_dims(frames, axis=0), verbose=0)
    new_prediction = np.squeeze(new_prediction, axis=0)
    predicted_frame = np.expand_dims(new_prediction[-1, ...], axis=0)
    frames = np.concatenate((frames, predicted_frame), axis=0)
print(frames.shape, np.round(frames[3:].mean(axis=(1, 2, 3)), 4).tolist())
print(np.round(frames[-1, 2, :, 0], 3).tolist())
