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
EMBEDDING_SIZE = 8


class RecommenderNet(keras.Model):
    def __init__(self, num_users, num_movies, embedding_size, **kwargs):
        super().__init__(**kwargs)
        self.num_users = num_users
        self.num_movies = num_movies
        self.embedding_size = embedding_size
        self.user_embedding = layers.Embedding(
            num_users,
            embedding_size,
            embeddings_initializer="he_normal",
            embeddings_regularizer=keras.regularizers.l2(1e-6),
        )
        self.user_bias = layers.Embedding(num_users, 1)
        self.movie_embedding = layers.Embedding(
            num_movies,
            embedding_size,
            embeddings_initializer="he_normal",
            embeddings_regularizer=keras.regularizers.l2(1e-6),
        )
        self.movie_bias = layers.Embedding(num_movies, 1)

    def call(self, inputs):
        user_vector = self.user_embedding(inputs[:, 0])
        user_bias = self.user_bias(inputs[:, 0])
        movie_vector = self.movie_embedding(inputs[:, 1])
        movie_bias = self.movie_bias(inputs[:, 1])
        dot_user_movie = ops.tensordot(user_vector, movie_vector, 2)
        x = dot_user_movie + user_bias + movie_bias
        return ops.nn.sigmoid(x)


model = RecommenderNet(20, 30, EMBEDDING_SIZE)
model.compile(
    loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(learning_rate=0.001)
)
rng = np.random.default_rng(0)
x = np.stack([rng.integers(0, 20, 64), rng.integers(0, 30, 64)], 1)
y = rng.random(64)
history = model.fit(x=x, y=y, batch_size=16, epochs=2, verbose=0, validation_data=(x[:16], y[:16]))
print(sorted(history.history), model.predict(x[:5], verbose=0).shape)
print([l.name for l in model.layers], model.count_params())
