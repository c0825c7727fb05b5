import math
import os
import sys
import tempfile

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np
import PIL.Image

keras.utils.set_random_seed(0)
upscale_factor = 3
crop_size = 24
input_size = crop_size // upscale_factor
rng = np.random.default_rng(0)
# Smooth random images, the target the model learns to recover from their shrunk copies.
base = rng.random((40, 6, 6, 1)).astype("float32")
images = (
    np.stack(
        [
            keras.utils.img_to_array(
                keras.utils.array_to_img(b * 255).resize((crop_size, crop_size))
            )
            for b in base
        ]
    )
    / 255.0
)
print(images.shape, images.dtype, round(float(images.mean()), 4))


def process_input(image):
    small = keras.utils.array_to_img(image * 255).resize(
        (input_size, input_size), PIL.Image.BICUBIC
    )
    return keras.utils.img_to_array(small) / 255.0


lowres = np.stack([process_input(image) for image in images])
print(lowres.shape, round(float(lowres.mean()), 4))


class DepthToSpace(layers.Layer):
    def __init__(self, block_size):
        super().__init__()
        self.block_size = block_size

    def call(self, input):
        batch, height, width, depth = ops.shape(input)
        depth = depth // (self.block_size**2)
        x = ops.reshape(input, [batch, height, width, self.block_size, self.block_size, depth])
        x = ops.transpose(x, [0, 1, 3, 2, 4, 5])
        x = ops.reshape(x, [batch, height * self.block_size, width * self.block_size, depth])
        return x


def get_model(upscale_factor=3, channels=1):
    conv_args = {"activation": "relu", "kernel_initializer": "Orthogonal", "padding": "same"}
    inputs = keras.Input(shape=(None, None, channels))
    x = layers.Conv2D(16, 5, **conv_args)(inputs)
    x = layers.Conv2D(16, 3, **conv_args)(x)
    x = layers.Conv2D(8, 3, **conv_args)(x)
    x = layers.Conv2D(channels * (upscale_factor**2), 3, **conv_args)(x)
    outputs = DepthToSpace(upscale_factor)(x)
    return keras.Model(inputs, outputs)


class ESPCNCallback(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.psnr = []

    def on_epoch_end(self, epoch, logs=None):
        print(f"Mean PSNR for epoch: {np.mean(self.psnr):.2f}")

    def on_test_batch_end(self, batch, logs=None):
        self.psnr.append(10 * math.log10(1 / logs["loss"]))


model = get_model(upscale_factor=upscale_factor, channels=1)
model.summary()
kernel = model.layers[1].kernel
flat = np.asarray(kernel).reshape(-1, 16)
print("orthogonal", np.allclose(flat.T @ flat, np.eye(16), atol=1e-5))
wrng = np.random.default_rng(3)
model.set_weights(
    [(wrng.standard_normal(w.shape) * 0.1 + 0.02).astype("float32") for w in model.get_weights()]
)
print(model(lowres[:1]).shape, model(np.zeros((1, 5, 7, 1), "float32")).shape)

folder = tempfile.mkdtemp()
checkpoint_filepath = os.path.join(folder, "checkpoint.weights.h5")
early_stopping_callback = keras.callbacks.EarlyStopping(monitor="loss", patience=10)
model_checkpoint_callback = keras.callbacks.ModelCheckpoint(
    filepath=checkpoint_filepath,
    save_weights_only=True,
    monitor="loss",
    mode="min",
    save_best_only=True,
)
callbacks = [ESPCNCallback(), early_stopping_callback, model_checkpoint_callback]
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.001), loss=keras.losses.MeanSquaredError()
)
history = model.fit(
    lowres[:32],
    images[:32],
    batch_size=8,
    epochs=3,
    callbacks=callbacks,
    validation_data=(lowres[32:], images[32:]),
    shuffle=False,
    verbose=0,
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
best = model.get_weights()
model.set_weights([w * 0 for w in best])
model.load_weights(checkpoint_filepath)
print("restored", all(np.array_equal(a, b) for a, b in zip(best, model.get_weights(), strict=True)))
print(sorted(os.listdir(folder)))

img = keras.utils.array_to_img(images[35] * 255)
print(img.mode, img.size)
ycbcr = img.convert("RGB").convert("YCbCr")
y, cb, cr = ycbcr.split()
y = keras.utils.img_to_array(y).astype("float32") / 255.0
out = model.predict(np.expand_dims(process_input(y), axis=0), verbose=0)
print(out.shape, out.dtype, round(float(out.mean()), 4))
out_img_y = (out[0] * 255.0).clip(0, 255)
out_img_y = out_img_y.reshape((np.shape(out_img_y)[0], np.shape(out_img_y)[1]))
out_img_y = PIL.Image.fromarray(np.uint8(out_img_y), mode="L")
print(out_img_y.size, np.asarray(out_img_y)[0, :6].tolist())
