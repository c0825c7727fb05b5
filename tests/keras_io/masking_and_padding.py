"""Keras' guide "Understanding masking & padding" (keras.io/guides/
understanding_masking_and_padding): pad_sequences, Embedding(mask_zero) and Masking masks,
masks passed by hand and through a layer of the user's, a compute_mask that splits a mask,
supports_masking, a call that reads its mask. Keras' summaries of these functional models
list the ops its layers' compute_mask used (not_equal, any) as rows; minicnn computes masks
in its graph's run and lists layers alone, so the summaries are left out."""

import os
import sys
import warnings

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers, ops
else:
    import minicnn as keras
    from minicnn import layers, ops
import numpy as np

# The guide's softmax divides 0 by 0 at the masked steps: NumPy warns of it, JAX does not.
warnings.simplefilter("ignore", RuntimeWarning)
keras.utils.set_random_seed(0)
raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
print(padded_inputs, padded_inputs.dtype)
print(keras.utils.pad_sequences(raw_inputs))
print(keras.utils.pad_sequences(raw_inputs, maxlen=4, truncating="post", value=-1))

embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
masked_output = embedding(padded_inputs)
print(np.asarray(masked_output._keras_mask), masked_output.shape, masked_output.dtype)

masking_layer = layers.Masking()
unmasked_embedding = ops.cast(
    ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]), dtype="float32"
)
masked_embedding = masking_layer(unmasked_embedding)
print(np.asarray(masked_embedding._keras_mask))

model = keras.Sequential(
    [layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True), layers.LSTM(32)]
)
inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
outputs = layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
print(model.count_params(), model.output_shape)


class MyLayer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
        self.lstm = layers.LSTM(32)

    def call(self, inputs):
        x = self.embedding(inputs)
        mask = self.embedding.compute_mask(inputs)
        output = self.lstm(x, mask=mask)
        return output


layer = MyLayer()
x = np.random.random((32, 10)) * 100
x = x.astype("int32")
out = layer(x)
print(out.shape, len(layer.weights), [w.path for w in layer.weights])


class TemporalSplit(keras.layers.Layer):
    def call(self, inputs):
        return ops.split(inputs, 2, axis=1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return ops.split(mask, 2, axis=1)


first_half, second_half = TemporalSplit()(masked_embedding)
print(np.asarray(first_half._keras_mask))
print(np.asarray(second_half._keras_mask))


class CustomEmbedding(keras.layers.Layer):
    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = mask_zero
        self.embeddings = self.add_weight(
            shape=(input_dim, output_dim), initializer="random_normal", dtype="float32"
        )

    def call(self, inputs):
        inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)


layer = CustomEmbedding(10, 32, mask_zero=True)
x = np.random.random((3, 10)) * 9
x = x.astype("int32")
y = layer(x)
mask = layer.compute_mask(x)
print(np.asarray(mask))
print(np.asarray(y._keras_mask).sum(), y.shape)


class MyActivation(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return ops.relu(inputs)


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
x = MyActivation()(x)
print("Mask found:", x.shape)
outputs = layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
y = model(np.random.randint(0, 5000, size=(32, 100)))
print(y.shape)


class TemporalSoftmax(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * broadcast_float_mask
        inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
        return inputs_exp / inputs_sum


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
x = layers.Dense(1)(x)
outputs = TemporalSoftmax()(x)
model = keras.Model(inputs, outputs)
data = np.random.randint(0, 10, size=(4, 12))
data[:, 9:] = 0
y = model(data)
print(y.shape, model.count_params())
# The example's weights drawn from NumPy in Keras' order, so both print the same numbers.
rng = np.random.default_rng(1)
model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
print(np.round(np.asarray(model(data))[:2, :, 0], 5))
print(np.asarray(model(data)._keras_mask).astype(int))
