import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
    from keras.layers import Embedding
else:
    import minicnn as keras
    from minicnn import layers
    from minicnn.layers import Embedding
import numpy as np

keras.utils.set_random_seed(0)
num_tokens, embedding_dim, sequence_length = 30, 8, 20
rng = np.random.default_rng(0)
embedding_matrix = rng.standard_normal((num_tokens, embedding_dim)).astype("float32")
embedding_matrix[0] = 0.0  # padding
x_train = rng.integers(0, num_tokens, (40, sequence_length))
y_train = rng.integers(0, 5, 40)
# As the Keras 3 example: build the layer, then set its weights.
embedding_layer = Embedding(num_tokens, embedding_dim, trainable=False)
embedding_layer.build((1,))
embedding_layer.set_weights([embedding_matrix])
print(embedding_layer.built, [w.shape for w in embedding_layer.weights])
# As the older example: the matrix as a Constant initializer.
constant_layer = Embedding(
    num_tokens,
    embedding_dim,
    embeddings_initializer=keras.initializers.Constant(embedding_matrix),
    trainable=False,
)
print(np.allclose(constant_layer(x_train[:2]), embedding_layer(x_train[:2])))
print(keras.initializers.Constant(3).get_config(), constant_layer.get_config()["trainable"])
print(sorted(keras.initializers.serialize(keras.initializers.Constant(embedding_matrix[:2, :2]))))

int_sequences_input = keras.Input(shape=(None,), dtype="int32")
embedded_sequences = embedding_layer(int_sequences_input)
x = layers.Conv1D(16, 5, activation="relu")(embedded_sequences)
x = layers.MaxPooling1D(5)(x)
x = layers.Conv1D(16, 3, activation="relu")(x)
x = layers.GlobalMaxPooling1D()(x)
x = layers.Dense(16, activation="relu")(x)
x = layers.Dropout(0.5)(x)
preds = layers.Dense(5, activation="softmax")(x)
model = keras.Model(int_sequences_input, preds)
model.summary()
wr = np.random.default_rng(3)
model.set_weights(
    [embedding_matrix]
    + [(wr.standard_normal(w.shape) * 0.3).astype("float32") for w in model.get_weights()[1:]]
)
print(np.round(model.predict(x_train[:2], verbose=0), 4).tolist())
model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", metrics=["acc"])
print(np.round(model.evaluate(x_train, y_train, verbose=0), 4).tolist())
history = model.fit(x_train, y_train, batch_size=8, epochs=2, validation_split=0.25, verbose=0)
print(sorted(history.history), np.array_equal(model.get_weights()[0], embedding_matrix))
print(len(model.trainable_weights), len(model.non_trainable_weights))
