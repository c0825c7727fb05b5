import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import ops
else:
    import minicnn as keras
    from minicnn import ops
import numpy as np

keras.utils.set_random_seed(0)


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            # Compute the training-time loss value and add it to the layer using add_loss.
            loss = self.loss_fn(targets, logits, sample_weight)
            self.add_loss(loss)
        # Return the inference-time prediction tensor (for `.predict()`).
        return ops.softmax(logits)


inputs = keras.Input((12,), name="inputs")
logits = keras.layers.Dense(1)(inputs)
targets = keras.Input((1,), name="targets")
sample_weight = keras.Input((1,), name="sample_weight")
preds = LogisticEndpoint()(logits, targets, sample_weight)
model = keras.Model([inputs, targets, sample_weight], preds)
model.summary()
rng = np.random.default_rng(0)
data = {
    "inputs": rng.random((40, 12)),
    "targets": rng.random((40, 1)),
    "sample_weight": rng.random((40, 1)),
}
model.set_weights([np.full((12, 1), 0.1, "float32"), np.zeros(1, "float32")])
model.compile(keras.optimizers.Adam(1e-3))
history = model.fit(data, epochs=2, batch_size=8, shuffle=False, verbose=0)
print({k: [round(v, 5) for v in vs] for k, vs in history.history.items()})
print(round(model.evaluate(data, batch_size=8, verbose=0), 5))
print(np.round(model.get_weights()[0][:3, 0], 5).tolist())

inputs = keras.Input((12,), name="inputs")
logits = keras.layers.Dense(1)(inputs)
preds = LogisticEndpoint()(logits, targets=None, sample_weight=None)
inference_model = keras.Model(inputs, preds)
inference_model.set_weights(model.get_weights())
out = inference_model.predict(rng.random((5, 12)), verbose=0)
print(out.shape, out.ravel().tolist())
inference_model(rng.random((5, 12)))
model([data["inputs"][:4], data["targets"][:4], data["sample_weight"][:4]])
print(len(inference_model.losses), len(model.losses), round(float(model.losses[0]), 5))
endpoint = model.layers[-1]
print(type(endpoint).__name__, [t.name for t in model.inputs])


class LogReg(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.logistic_endpoint = LogisticEndpoint()

    def call(self, inputs):
        # Note that all inputs should be in the first argument
        # since we want to be able to call `model.fit(inputs)`.
        logits = self.dense(inputs["inputs"])
        preds = self.logistic_endpoint(
            logits=logits,
            targets=inputs["targets"],
            sample_weight=inputs["sample_weight"],
        )
        return preds


model = LogReg()
model(data)
model.set_weights([np.full((12, 1), 0.1, "float32"), np.zeros(1, "float32")])
model.compile(keras.optimizers.Adam(1e-3))
history = model.fit(data, epochs=2, batch_size=8, shuffle=False, verbose=0)
print({k: [round(v, 5) for v in vs] for k, vs in history.history.items()})
model(data)
print([w.path for w in model.weights], len(model.losses), round(float(model.losses[0]), 5))
print(model.predict(data, batch_size=8, verbose=0).shape)
