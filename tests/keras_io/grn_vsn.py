import json
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
# (a few of the census columns, with made-up values)
NUMERIC_FEATURE_NAMES = ["age", "wage_per_hour", "weeks_worked_in_year"]
CATEGORICAL_FEATURES_WITH_VOCABULARY = {
    "education": ["Bachelors", "Doctorate", "HS-grad", "Masters"],
    "marital_stat": ["Divorced", "Married", "Never married"],
}
FEATURE_NAMES = NUMERIC_FEATURE_NAMES + list(CATEGORICAL_FEATURES_WITH_VOCABULARY.keys())

rng = np.random.default_rng(0)
n = 48
features = {name: rng.normal(0, 1, n).astype("float32") for name in NUMERIC_FEATURE_NAMES}
for name, vocabulary in CATEGORICAL_FEATURES_WITH_VOCABULARY.items():
    features[name] = rng.integers(0, len(vocabulary), n).astype("int64")
target = (features["age"] + features["education"] > 1).astype("float32")
weight = rng.uniform(0.5, 2.0, n).astype("float32")


def create_model_inputs():
    inputs = {}
    for feature_name in FEATURE_NAMES:
        if feature_name in CATEGORICAL_FEATURES_WITH_VOCABULARY:
            # Make them int64, they are Categorical (whole units)
            inputs[feature_name] = layers.Input(name=feature_name, shape=(), dtype="int64")
        else:
            # Make them float32, they are Real numbers
            inputs[feature_name] = layers.Input(name=feature_name, shape=(), dtype="float32")
    return inputs


class GatedLinearUnit(layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.linear = layers.Dense(units)
        self.sigmoid = layers.Dense(units, activation="sigmoid")

    def call(self, inputs):
        return self.linear(inputs) * self.sigmoid(inputs)


class GatedResidualNetwork(layers.Layer):
    def __init__(self, units, dropout_rate):
        super().__init__()
        self.units = units
        self.elu_dense = layers.Dense(units, activation="elu")
        self.linear_dense = layers.Dense(units)
        self.dropout = layers.Dropout(dropout_rate)
        self.gated_linear_unit = GatedLinearUnit(units)
        self.layer_norm = layers.LayerNormalization()
        self.project = layers.Dense(units)

    def call(self, inputs):
        x = self.elu_dense(inputs)
        x = self.linear_dense(x)
        x = self.dropout(x)
        if inputs.shape[-1] != self.units:
            inputs = self.project(inputs)
        x = inputs + self.gated_linear_unit(x)
        x = self.layer_norm(x)
        return x


class VariableSelection(layers.Layer):
    def __init__(self, num_features, units, dropout_rate):
        super().__init__()
        self.units = units
        # Create an embedding layers with the specified dimensions
        self.embeddings = dict()
        for input_ in CATEGORICAL_FEATURES_WITH_VOCABULARY:
            vocabulary = CATEGORICAL_FEATURES_WITH_VOCABULARY[input_]
            embedding_encoder = layers.Embedding(
                input_dim=len(vocabulary), output_dim=self.units, name=input_
            )
            self.embeddings[input_] = embedding_encoder

        # Projection layers for numeric features
        self.proj_layer = dict()
        for input_ in NUMERIC_FEATURE_NAMES:
            proj_layer = layers.Dense(units=self.units)
            self.proj_layer[input_] = proj_layer

        self.grns = list()
        # Create a GRN for each feature independently
        for idx in range(num_features):  # noqa: B007
            grn = GatedResidualNetwork(units, dropout_rate)
            self.grns.append(grn)
        # Create a GRN for the concatenation of all the features
        self.grn_concat = GatedResidualNetwork(units, dropout_rate)
        self.softmax = layers.Dense(units=num_features, activation="softmax")

    def call(self, inputs):
        concat_inputs = []
        for input_ in inputs:
            if input_ in CATEGORICAL_FEATURES_WITH_VOCABULARY:
                max_index = self.embeddings[input_].input_dim - 1  # Clamp the indices
                embedded_feature = self.embeddings[input_](
                    keras.ops.clip(inputs[input_], 0, max_index)
                )
                concat_inputs.append(embedded_feature)
            else:
                # Project the numeric feature to encoding_size using linear transformation.
                proj_feature = keras.ops.expand_dims(inputs[input_], -1)
                proj_feature = self.proj_layer[input_](proj_feature)
                concat_inputs.append(proj_feature)

        v = layers.concatenate(concat_inputs)
        v = self.grn_concat(v)
        v = keras.ops.expand_dims(self.softmax(v), axis=-1)
        x = []
        for idx, input in enumerate(concat_inputs):
            x.append(self.grns[idx](input))
        x = keras.ops.stack(x, axis=1)
        # (the example computes this in each backend's own numpy; keras.ops has it)
        return keras.ops.squeeze(keras.ops.matmul(keras.ops.transpose(v, (0, 2, 1)), x), axis=1)

    # to remove the build warnings
    def build(self):
        self.built = True


learning_rate = 0.001
dropout_rate = 0.0  # (the example's 0.15: dropout draws differ between the libraries)
batch_size = 16
num_epochs = 3
encoding_size = 4


def create_model(encoding_size):
    inputs = create_model_inputs()
    num_features = len(inputs)
    features = VariableSelection(num_features, encoding_size, dropout_rate)(inputs)
    outputs = layers.Dense(units=1, activation="sigmoid")(features)
    # Functional model
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


model = create_model(encoding_size)
model.summary()
print([tuple(w.shape) for w in model.weights][:6], len(model.weights))
wrng = np.random.default_rng(3)
model.set_weights(
    [(wrng.standard_normal(w.shape) * 0.5).astype("float32") for w in model.get_weights()]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
    loss=keras.losses.BinaryCrossentropy(),
    metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
)
# Create an early stopping callback.
early_stopping = keras.callbacks.EarlyStopping(
    monitor="val_loss", patience=5, restore_best_weights=True
)
print("Start training the model...")
history = model.fit(
    features,
    target,
    sample_weight=weight,
    batch_size=batch_size,
    epochs=num_epochs,
    validation_data=(features, target, weight),
    callbacks=[early_stopping],
    shuffle=False,
    verbose=0,
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
print("Model training finished.")
print("Evaluating model performance...")
_, accuracy = model.evaluate(features, target, verbose=0)
print(f"Test accuracy: {round(accuracy * 100, 2)}%")
print(np.round(model.predict({k: v[:3] for k, v in features.items()}, verbose=0), 4).tolist())
entry = model.get_config()["layers"][5]
print(entry["build_config"], entry["config"])
node = entry["inbound_nodes"][0]
print(list(node["args"][0]), json.dumps(node["args"][0]["marital_stat"]), node["kwargs"])
