import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

keras.utils.set_random_seed(1)
img_width, img_height, max_length, n_chars = 64, 32, 5, 10


class CTCLayer(layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.CTC() if hasattr(keras.losses, "CTC") else None

    def call(self, y_true, y_pred):
        loss = ops.mean(self.loss_fn(y_true, y_pred))
        self.add_loss(loss)
        return y_pred


def build_model():
    input_img = layers.Input(shape=(img_width, img_height, 1), name="image", dtype="float32")
    labels = layers.Input(name="label", shape=(None,), dtype="float32")
    x = layers.Conv2D(
        16, (3, 3), activation="relu", kernel_initializer="he_normal", padding="same", name="Conv1"
    )(input_img)
    x = layers.MaxPooling2D((2, 2), name="pool1")(x)
    x = layers.Conv2D(
        32, (3, 3), activation="relu", kernel_initializer="he_normal", padding="same", name="Conv2"
    )(x)
    x = layers.MaxPooling2D((2, 2), name="pool2")(x)
    new_shape = ((img_width // 4), (img_height // 4) * 32)
    x = layers.Reshape(target_shape=new_shape, name="reshape")(x)
    x = layers.Dense(32, activation="relu", name="dense1")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Bidirectional(layers.LSTM(32, return_sequences=True, dropout=0.25))(x)
    x = layers.Dense(n_chars + 1, activation="softmax", name="dense2")(x)
    output = CTCLayer(name="ctc_loss")(labels, x)
    model = keras.models.Model(inputs=[input_img, labels], outputs=output, name="ocr_model_v1")
    model.compile(optimizer=keras.optimizers.Adam())
    return model


model = build_model()
model.summary()
rng = np.random.default_rng(0)
X = rng.random((64, img_width, img_height, 1)).astype("float32")
Y = rng.integers(1, n_chars, (64, max_length)).astype("float32")
h = model.fit({"image": X, "label": Y}, epochs=2, batch_size=16, verbose=0)
print({k: [round(float(v), 2) for v in vs] for k, vs in h.history.items()})
prediction_model = keras.models.Model(model.input[0], model.get_layer(name="dense2").output)
print(prediction_model.output_shape, prediction_model.predict(X[:2], verbose=0).shape)
