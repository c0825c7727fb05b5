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
num_tags, num_words, num_departments = 12, 100, 4
title_input = keras.Input(shape=(None,), name="title")
body_input = keras.Input(shape=(None,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.Embedding(num_words, 64)(title_input)
body_features = layers.Embedding(num_words, 64)(body_input)
title_features = layers.LSTM(128)(title_features)
body_features = layers.LSTM(32)(body_features)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs={"priority": priority_pred, "department": department_pred},
)
print([l.name for l in model.layers])
print(model.input_shape, model.output_shape)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
)
title_data = np.random.randint(num_words, size=(64, 10))
body_data = np.random.randint(num_words, size=(64, 20))
tags_data = np.random.randint(2, size=(64, num_tags)).astype("float32")
priority_targets = np.random.random(size=(64, 1))
dept_targets = np.random.randint(2, size=(64, num_departments))
h = model.fit(
    {"title": title_data, "body": body_data, "tags": tags_data},
    {"priority": priority_targets, "department": dept_targets},
    epochs=2,
    batch_size=32,
    verbose=0,
)
print(sorted(h.history))
out = model.predict(
    {"title": title_data[:2], "body": body_data[:2], "tags": tags_data[:2]}, verbose=0
)
print(
    type(out).__name__,
    sorted(out) if isinstance(out, dict) else len(out),
    {k: v.shape for k, v in out.items()} if isinstance(out, dict) else None,
)
r = model.evaluate(
    {"title": title_data, "body": body_data, "tags": tags_data},
    {"priority": priority_targets, "department": dept_targets},
    verbose=0,
    return_dict=True,
)
print(sorted(r))
# shared layers / nodes
print(len(model.get_layer("priority").get_weights()), model.get_layer("department").output.shape)
