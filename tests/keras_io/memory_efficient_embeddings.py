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
# Users and movies as ids (the example maps MovieLens' ids with StringLookup, which needs
# TensorFlow in Keras 3): 60 users, 40 movies, the popular ones first.
rng = np.random.default_rng(0)
num_users, num_movies, base_embedding_dim = 60, 40, 8
users = rng.integers(0, num_users, 256)
movies = np.minimum(rng.geometric(0.08, 256) - 1, num_movies - 1)
ratings = ((users % 5) + (movies % 3) + 1).clip(1, 5).astype("float32")


class QREmbedding(keras.layers.Layer):
    def __init__(self, vocabulary_size, embedding_dim, num_buckets, name=None):
        super().__init__(name=name)
        self.num_buckets = num_buckets
        self.q_embeddings = layers.Embedding(vocabulary_size // num_buckets + 1, embedding_dim)
        self.r_embeddings = layers.Embedding(num_buckets, embedding_dim)

    def call(self, inputs):
        quotient_index = ops.floor_divide(inputs, self.num_buckets)
        remainder_index = ops.mod(inputs, self.num_buckets)
        quotient_embedding = self.q_embeddings(quotient_index)
        remainder_embedding = self.r_embeddings(remainder_index)
        return quotient_embedding * remainder_embedding


class MDEmbedding(keras.layers.Layer):
    def __init__(self, blocks, blocks_embedding_dims, base_embedding_dim, name=None):
        super().__init__(name=name)
        self.blocks = blocks  # (first id, end) of each block
        self.block_embedding_encoders = []
        self.block_embedding_projectors = []
        for (start, end), embedding_dim in zip(blocks, blocks_embedding_dims, strict=True):
            self.block_embedding_encoders.append(layers.Embedding(end - start, embedding_dim))
            if embedding_dim == base_embedding_dim:
                self.block_embedding_projectors.append(layers.Lambda(lambda x: x))
            else:
                self.block_embedding_projectors.append(layers.Dense(units=base_embedding_dim))

    def call(self, inputs):
        embeddings = ops.zeros(shape=(ops.shape(inputs)[0], base_embedding_dim))
        for (start, end), encoder, projector in zip(
            self.blocks,
            self.block_embedding_encoders,
            self.block_embedding_projectors,
            strict=True,
        ):
            inside = ops.logical_and(inputs >= start, inputs < end)
            local = ops.where(inside, inputs - start, 0)
            block_embeddings = projector(encoder(local))
            mask = ops.expand_dims(ops.cast(inside, "float32"), 1)
            embeddings += block_embeddings * mask
        return embeddings


def create_memory_efficient_model():
    user_input = layers.Input(name="user_id", shape=(), dtype="int32")
    user_embedding = QREmbedding(
        vocabulary_size=num_users,
        embedding_dim=base_embedding_dim,
        num_buckets=num_users // 10,
        name="user_embedding",
    )(user_input)
    movie_input = layers.Input(name="movie_id", shape=(), dtype="int32")
    movie_embedding = MDEmbedding(
        blocks=[(0, 8), (8, 20), (20, num_movies)],
        blocks_embedding_dims=[8, 4, 2],
        base_embedding_dim=base_embedding_dim,
        name="movie_embedding",
    )(movie_input)
    logits = layers.Dot(axes=1, name="dot_similarity")([user_embedding, movie_embedding])
    prediction = keras.activations.sigmoid(logits) * 5
    return keras.Model(inputs=[user_input, movie_input], outputs=prediction, name="baseline_model")


model = create_memory_efficient_model()
model.summary()
print([w.path for w in model.weights])
wrng = np.random.default_rng(4)
model.set_weights(
    [(wrng.standard_normal(w.shape) * 0.5).astype("float32") for w in model.get_weights()]
)
model.compile(
    optimizer=keras.optimizers.Adam(0.01),
    loss=keras.losses.MeanSquaredError(),
    metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
)
data = {"user_id": users.astype("int32"), "movie_id": movies.astype("int32")}
history = model.fit(
    data, ratings, batch_size=32, epochs=3, validation_split=0.25, shuffle=False, verbose=0
)
print({k: [round(v, 4) for v in vs] for k, vs in history.history.items()})
print(
    np.round(
        model.predict(
            {"user_id": np.array([0, 7], "int32"), "movie_id": np.array([1, 30], "int32")},
            verbose=0,
        ),
        4,
    ).tolist()
)
