import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
else:
    import minicnn as keras
import tempfile

import numpy as np

OUT = tempfile.mkdtemp()
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
features = rng.standard_normal((600, 7)).astype("float32")
split_fraction = 0.715
train_split = int(split_fraction * 600)
step = 6
past = 72
future = 12
learning_rate = 0.001
batch_size = 64
epochs = 2
train_data = features[0 : train_split - 1]
val_data = features[train_split:]
start = past + future
end = start + train_split
x_train = train_data
y_train = features[start:end][:, 1]
sequence_length = int(past / step)
dataset_train = keras.preprocessing.timeseries_dataset_from_array(
    x_train, y_train, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size
)
x_end = len(val_data) - past - future
label_start = train_split + past + future
x_val = val_data[:x_end]
y_val = features[label_start:][:, 1]
dataset_val = keras.preprocessing.timeseries_dataset_from_array(
    x_val, y_val, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size
)
for batch in dataset_train.take(1):
    inputs, targets = batch
print("Input shape:", tuple(inputs.shape), "Target shape:", tuple(targets.shape))
inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
lstm_out = keras.layers.LSTM(32)(inputs)
outputs = keras.layers.Dense(1)(lstm_out)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
modelckpt_callback = keras.callbacks.ModelCheckpoint(
    monitor="val_loss",
    filepath=OUT + f"/model_checkpoint_{sys.argv[1]}.weights.h5",
    verbose=0,
    save_weights_only=True,
    save_best_only=True,
)
history = model.fit(
    dataset_train,
    epochs=epochs,
    validation_data=dataset_val,
    callbacks=[es_callback, modelckpt_callback],
    verbose=0,
)
print(sorted(history.history), len(history.history["loss"]))
for x, y in dataset_val.take(2):
    print(tuple(x.shape), tuple(y.shape), model.predict(x, verbose=0).shape)
