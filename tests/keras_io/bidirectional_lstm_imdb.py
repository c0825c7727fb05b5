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
max_features = 50  # Only consider the top 50 words (20k in the example)
maxlen = 12  # Only consider the first 12 words of each movie review (200 there)
rng = np.random.default_rng(0)
# Reviews as lists of word ids of different lengths, as keras.datasets.imdb gives them.
x_train = [list(rng.integers(1, max_features, rng.integers(3, 20))) for _ in range(40)]
y_train = rng.integers(0, 2, 40)
x_val, y_val = x_train[:10], y_train[:10]
print(len(x_train), "Training sequences")
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)
print(x_train.shape, x_train.dtype, x_train[0].tolist())

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 8)(inputs)
x = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(6))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()
wrng = np.random.default_rng(1)
model.set_weights(
    [(wrng.standard_normal(w.shape) * 0.3).astype("float32") for w in model.get_weights()]
)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(
    x_train,
    y_train,
    batch_size=8,
    epochs=2,
    validation_data=(x_val, y_val),
    shuffle=False,
    verbose=0,
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
print(np.round(model.predict(x_val[:3], verbose=0).ravel(), 4).tolist())
