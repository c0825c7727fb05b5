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
MAXLEN, chars = 7, 12
num_layers = 1
model = keras.Sequential()
model.add(layers.Input((MAXLEN, chars)))
model.add(layers.LSTM(16))
model.add(layers.RepeatVector(4))
for _ in range(num_layers):
    model.add(layers.LSTM(16, return_sequences=True))
model.add(layers.Dense(chars, activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.summary()
rng = np.random.default_rng(0)
x = np.eye(chars)[rng.integers(0, chars, (32, MAXLEN))].astype(bool)
y = np.eye(chars)[rng.integers(0, chars, (32, 4))].astype(bool)
wr = np.random.default_rng(3)
model.set_weights(
    [(wr.standard_normal(w.shape) * 0.3).astype("float32") for w in model.get_weights()]
)
print(np.round(model.predict(x[:1], verbose=0)[0, :2, :4], 5).tolist())
print(round(float(model.evaluate(x, y, verbose=0)[0]), 5))
h = model.fit(x, y, batch_size=8, epochs=1, validation_data=(x, y), verbose=0)
print(sorted(h.history))
# char-level generation model
model2 = keras.Sequential(
    [keras.Input(shape=(10, 20)), layers.LSTM(32), layers.Dense(20, activation="softmax")]
)
optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
model2.compile(loss="categorical_crossentropy", optimizer=optimizer)


def sample(preds, temperature=1.0):
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


xx = np.eye(20)[rng.integers(0, 20, (16, 10))].astype(bool)
preds = model2.predict(xx[:1], verbose=0)[0]
print(preds.shape, 0 <= sample(preds, 0.5) < 20)
