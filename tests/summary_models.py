"""Models written once for Keras and for minicnn (``lib`` is either module): the summaries
Keras 3 printed for them are tests/keras_files/summaries.json, which minicnn's must equal."""


def summary_models(lib):
    """(name, model, summary arguments) for each table kept."""
    L = lib.layers
    features = lib.Sequential(
        [
            lib.Input((8, 8, 3)),
            L.Conv2D(4, 3, name="inner_conv"),
            L.BatchNormalization(name="inner_bn"),
        ],
        name="features",
    )
    x = lib.Input((8, 8, 3))
    joined = L.Add()([features(x), L.Conv2D(4, 3, name="side")(x)])
    branches = lib.Model(
        x, L.Dense(2, name="head")(L.GlobalAveragePooling2D()(joined)), name="nested_branches"
    )
    branches.layers[1].trainable = False
    plain = lib.Sequential(
        [
            lib.Input((8, 8, 3)),
            L.Conv2D(4, 3),
            L.BatchNormalization(),
            L.GlobalAveragePooling2D(),
            L.Dropout(0.1),
            L.Dense(3, name="a_really_long_layer_name_for_testing_wrap"),
        ],
        name="plain",
    )
    tokens = lib.Input((10,), dtype="int32")
    hidden = L.Bidirectional(L.GRU(4))(
        L.LSTM(8, return_sequences=True)(L.Embedding(100, 16)(tokens))
    )
    recurrent = lib.Model(tokens, L.Dense(1)(hidden), name="recurrent")
    a, b = lib.Input((8,)), lib.Input((3,))
    both = L.Concatenate()([a, b])
    heads = [L.Dense(3, name="kind")(both), L.Dense(1, name="size")(both)]
    two_headed = lib.Model([a, b], heads, name="two_headed")
    x, y = lib.Input((8,)), lib.Input((3,))
    kind, size = two_headed([x, y])
    refined = L.Dense(1, name="refined")(L.Concatenate()([kind, size]))
    outer = lib.Model([x, y], [refined, kind], name="outer")
    steps = lib.Input((5, 2))
    sequence, state_h, state_c = L.LSTM(3, return_sequences=True, return_state=True)(steps)
    summed = L.Add()([L.GlobalAveragePooling1D()(sequence), state_h, state_c])
    states = lib.Model(steps, summed, name="states")
    options = [
        {},
        {"show_trainable": True},
        {"expand_nested": True},
        {"expand_nested": True, "show_trainable": True},
        {"line_length": 100},
    ]
    for model in (branches, plain, recurrent, outer, states):
        for kwargs in options:
            yield model.name, model, kwargs
    yield "branches_positions", branches, {"line_length": 70, "positions": [0.25, 0.5, 0.7, 1.0]}
    yield "plain_positions", plain, {"line_length": 70, "positions": [0.5, 0.8, 1.0]}
    # Not built yet: each layer "?" and "0 (unbuilt)"; built by a first call on a batch of
    # 2, whose size Keras keeps; a graph's ops as rows of their own.
    lazy = lib.Sequential([L.Embedding(1000, 16), L.LSTM(8), L.Dense(10)], name="lazy")
    yield "lazy", lazy, {}
    eager = lib.Sequential([L.Dense(4), L.Dense(2)], name="eager")
    eager(lib.ops.ones((2, 3)))
    yield "eager", eager, {}
    z = lib.Input((4,))
    clipped = lib.ops.relu(L.Dense(3, name="pre")(z) + 1.0)[:, :2]
    yield "with_ops", lib.Model(z, L.Dense(2, name="post")(clipped), name="with_ops"), {}

    class TwoDense(lib.Model):
        def __init__(self):
            super().__init__(name="two_dense")
            self.first = L.Dense(4, name="first")
            self.second = L.Dense(2, name="second")

        def call(self, x):
            return self.second(self.first(x))

    yield "two_dense_unbuilt", TwoDense(), {}
    subclassed = TwoDense()
    subclassed.predict(lib.ops.ones((5, 3)), verbose=0)  # its layers' rows show batch 5
    yield "two_dense", subclassed, {}
