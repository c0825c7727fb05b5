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

keras.utils.set_random_seed(0)
NUM_POINTS = 32
NUM_CLASSES = 4
rng = np.random.default_rng(0)
train_points = rng.standard_normal((48, NUM_POINTS, 3)).astype("float32")
train_labels = rng.integers(0, NUM_CLASSES, 48)
test_points = rng.standard_normal((16, NUM_POINTS, 3)).astype("float32")
test_labels = rng.integers(0, NUM_CLASSES, 16)


def conv_bn(x, filters):
    x = layers.Conv1D(filters, kernel_size=1, padding="valid")(x)
    x = layers.BatchNormalization(momentum=0.0)(x)
    return layers.Activation("relu")(x)


def dense_bn(x, filters):
    x = layers.Dense(filters)(x)
    x = layers.BatchNormalization(momentum=0.0)(x)
    return layers.Activation("relu")(x)


class OrthogonalRegularizer(keras.regularizers.Regularizer):
    def __init__(self, num_features, l2reg=0.001):
        self.num_features = num_features
        self.l2reg = l2reg
        self.eye = ops.eye(num_features)

    def __call__(self, x):
        x = ops.reshape(x, (-1, self.num_features, self.num_features))
        xxt = ops.tensordot(x, x, axes=(2, 2))
        xxt = ops.reshape(xxt, (-1, self.num_features, self.num_features))
        return ops.sum(self.l2reg * ops.square(xxt - self.eye))

    def get_config(self):
        config = super().get_config()
        config.update({"num_features": self.num_features, "l2reg_strength": self.l2reg})
        return config


def tnet(inputs, num_features):
    bias = keras.initializers.Constant(np.eye(num_features).flatten())
    reg = OrthogonalRegularizer(num_features)
    x = conv_bn(inputs, 8)
    x = conv_bn(x, 16)
    x = layers.GlobalMaxPooling1D()(x)
    x = dense_bn(x, 16)
    x = layers.Dense(
        num_features * num_features,
        kernel_initializer="zeros",
        bias_initializer=bias,
        activity_regularizer=reg,
    )(x)
    feat_t = layers.Reshape((num_features, num_features))(x)
    return layers.Dot(axes=(2, 1))([inputs, feat_t])


inputs = keras.Input(shape=(NUM_POINTS, 3))
x = tnet(inputs, 3)
x = conv_bn(x, 8)
x = conv_bn(x, 8)
x = tnet(x, 8)
x = conv_bn(x, 8)
x = conv_bn(x, 16)
x = layers.GlobalMaxPooling1D()(x)
x = dense_bn(x, 16)
x = layers.Dropout(0.3)(x)
outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="pointnet")
model.summary()
reg = OrthogonalRegularizer(3)
try:  # the example's get_config calls the base's, which Keras does not give
    print(reg.get_config())
except NotImplementedError as error:
    print(type(error).__name__, str(error).endswith("does not implement get_config()"))
print(np.round(np.asarray(reg(ops.ones((2, 9)))), 6))
for layer in model.layers:
    if getattr(layer, "activity_regularizer", None) is not None:
        print(layer.name, layer.activity_regularizer.num_features)

# Weights from one stream, so that both libraries train the same numbers.
wrng = np.random.default_rng(7)
model.set_weights(
    [
        (wrng.standard_normal(w.shape) * 0.2).astype("float32") if w.ndim > 1 else w
        for w in model.get_weights()
    ]
)
out = model(train_points[:4], training=False)
print(np.round(np.asarray(out), 4).tolist())
model(train_points[:4], training=True)
print("activity losses", [round(float(v), 4) for v in model.losses])

model.compile(
    loss="sparse_categorical_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=0.001),
    metrics=["sparse_categorical_accuracy"],
)
layer_names = [layer.name for layer in model.layers if layer.losses]
print(layer_names)
model.get_layer("dropout").rate = 0.0
history = model.fit(
    train_points,
    train_labels,
    batch_size=16,
    epochs=2,
    shuffle=False,
    verbose=0,
    validation_data=(test_points, test_labels),
)
# Adam scales the conv biases' gradients, zero but for rounding (batch norm follows), to
# whole steps, and validation through momentum-0 batch statistics magnifies that noise.
print({k: [round(v, 0 if k == "val_loss" else 3) for v in vs] for k, vs in history.history.items()})
preds = model.predict(test_points[:4], verbose=0)
print(np.argmax(preds, -1).tolist())
