import os
import sys
from copy import deepcopy
from types import SimpleNamespace

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import ops
else:
    import minicnn as keras
    from minicnn import ops
import numpy as np

keras.utils.set_random_seed(0)


class LayerScale(keras.layers.Layer):
    """LayerScale as introduced in CaiT: https://arxiv.org/abs/2103.17239."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.gamma = keras.Variable(config.init_values * ops.ones((config.projection_dim,)))

    def call(self, x):
        return x * self.gamma


class StochasticDepth(keras.layers.Layer):
    def __init__(self, drop_prop, **kwargs):
        super().__init__(**kwargs)
        self.drop_prob = drop_prop
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, x, training=False):
        if training:
            keep_prob = 1 - self.drop_prob
            shape = (ops.shape(x)[0],) + (1,) * (len(ops.shape(x)) - 1)
            random_tensor = keep_prob + keras.random.uniform(shape, 0, 1, seed=self.seed_generator)
            random_tensor = ops.floor(random_tensor)
            return (x / keep_prob) * random_tensor
        return x


class ClassAttn(keras.layers.Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        head_dim = config.projection_dim // config.num_heads
        self.scale = head_dim**-0.5

        self.q = keras.layers.Dense(config.projection_dim)
        self.k = keras.layers.Dense(config.projection_dim)
        self.v = keras.layers.Dense(config.projection_dim)
        self.attn_drop = keras.layers.Dropout(config.dropout_rate)
        self.proj = keras.layers.Dense(config.projection_dim)
        self.proj_drop = keras.layers.Dropout(config.dropout_rate)

    def call(self, x, training=False):
        B, N, C = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]

        # Query projection. `cls_token` embeddings are queries.
        q = ops.expand_dims(self.q(x[:, 0]), axis=1)
        q = ops.reshape(q, (B, 1, self.config.num_heads, C // self.config.num_heads))
        q = ops.transpose(q, axes=[0, 2, 1, 3])
        scale = ops.cast(self.scale, dtype=q.dtype)
        q = q * scale

        # Key projection. Patch embeddings as well the cls embedding are used as keys.
        k = self.k(x)
        k = ops.reshape(k, (B, N, self.config.num_heads, C // self.config.num_heads))
        k = ops.transpose(k, axes=[0, 2, 1, 3])

        # Value projection. Patch embeddings as well the cls embedding are used as values.
        v = self.v(x)
        v = ops.reshape(v, (B, N, self.config.num_heads, C // self.config.num_heads))
        v = ops.transpose(v, axes=[0, 2, 1, 3])

        # Calculate attention between cls_token embedding and patch embeddings.
        attn = ops.matmul(q, ops.transpose(k, axes=[0, 1, 3, 2]))
        attn = ops.softmax(attn, axis=-1)
        attn = self.attn_drop(attn, training=training)

        x_cls = ops.matmul(attn, v)
        x_cls = ops.transpose(x_cls, axes=[0, 2, 1, 3])
        x_cls = ops.reshape(x_cls, (B, 1, C))
        x_cls = self.proj(x_cls)
        x_cls = self.proj_drop(x_cls, training=training)

        return x_cls, attn


class TalkingHeadAttn(keras.layers.Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.num_heads = self.config.num_heads
        head_dim = self.config.projection_dim // self.num_heads
        self.scale = head_dim**-0.5

        self.qkv = keras.layers.Dense(config.projection_dim * 3)
        self.attn_drop = keras.layers.Dropout(config.dropout_rate)
        self.proj = keras.layers.Dense(config.projection_dim)
        self.proj_l = keras.layers.Dense(config.num_heads)
        self.proj_w = keras.layers.Dense(config.num_heads)
        self.proj_drop = keras.layers.Dropout(config.dropout_rate)

    def call(self, x, training=False):
        B, N, C = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]

        # Project the inputs all at once.
        qkv = self.qkv(x)

        # Reshape the projected output so that they're segregated in terms of
        # query, key, and value projections.
        qkv = ops.reshape(qkv, (B, N, 3, self.num_heads, C // self.num_heads))

        # Transpose so that the `num_heads` becomes the leading dimensions.
        qkv = ops.transpose(qkv, axes=[2, 0, 3, 1, 4])
        scale = ops.cast(self.scale, dtype=qkv.dtype)
        q, k, v = qkv[0] * scale, qkv[1], qkv[2]

        # Obtain the raw attention scores.
        attn = ops.matmul(q, ops.transpose(k, axes=[0, 1, 3, 2]))

        # Linear projection of the similarities between the query and key projections.
        attn = self.proj_l(ops.transpose(attn, axes=[0, 2, 3, 1]))

        # Normalize the attention scores.
        attn = ops.transpose(attn, axes=[0, 3, 1, 2])
        attn = ops.softmax(attn, axis=-1)

        # Linear projection on the softmaxed scores.
        attn = self.proj_w(ops.transpose(attn, axes=[0, 2, 3, 1]))
        attn = ops.transpose(attn, axes=[0, 3, 1, 2])
        attn = self.attn_drop(attn, training=training)

        # Final set of projections as done in the vanilla attention mechanism.
        x = ops.matmul(attn, v)
        x = ops.transpose(x, axes=[0, 2, 1, 3])
        x = ops.reshape(x, (B, N, C))

        x = self.proj(x)
        x = self.proj_drop(x, training=training)

        return x, attn


def mlp(x, dropout_rate, hidden_units):
    """FFN for a Transformer block."""
    for idx, units in enumerate(hidden_units):
        x = keras.layers.Dense(
            units,
            activation=ops.gelu if idx == 0 else None,
            bias_initializer=keras.initializers.RandomNormal(stddev=1e-6),
        )(x)
        x = keras.layers.Dropout(dropout_rate)(x)
    return x


def LayerScaleBlockClassAttn(config, drop_prob, name):
    x = keras.Input((None, config.projection_dim))
    x_cls = keras.Input((None, config.projection_dim))
    inputs = keras.layers.Concatenate(axis=1)([x_cls, x])

    # Class attention (CA).
    x1 = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)(inputs)
    attn_output, attn_scores = ClassAttn(config)(x1)
    attn_output = LayerScale(config)(attn_output) if config.init_values else attn_output
    attn_output = StochasticDepth(drop_prob)(attn_output) if drop_prob else attn_output
    x2 = keras.layers.Add()([x_cls, attn_output])

    # FFN.
    x3 = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)(x2)
    x4 = mlp(x3, hidden_units=config.mlp_units, dropout_rate=config.dropout_rate)
    x4 = LayerScale(config)(x4) if config.init_values else x4
    x4 = StochasticDepth(drop_prob)(x4) if drop_prob else x4
    outputs = keras.layers.Add()([x2, x4])

    return keras.Model([x, x_cls], [outputs, attn_scores], name=name)


def LayerScaleBlock(config, drop_prob, name):
    encoded_patches = keras.Input((None, config.projection_dim))

    # Self-attention.
    x1 = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)(encoded_patches)
    attn_output, attn_scores = TalkingHeadAttn(config)(x1)
    attn_output = LayerScale(config)(attn_output) if config.init_values else attn_output
    attn_output = StochasticDepth(drop_prob)(attn_output) if drop_prob else attn_output
    x2 = keras.layers.Add()([encoded_patches, attn_output])

    # FFN.
    x3 = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps)(x2)
    x4 = mlp(x3, hidden_units=config.mlp_units, dropout_rate=config.dropout_rate)
    x4 = LayerScale(config)(x4) if config.init_values else x4
    x4 = StochasticDepth(drop_prob)(x4) if drop_prob else x4
    outputs = keras.layers.Add()([x2, x4])

    return keras.Model(encoded_patches, [outputs, attn_scores], name=name)


class CaiT(keras.Model):
    """CaiT model."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config

        # Responsible for patchifying the input images and the linearly projecting them.
        self.projection = keras.Sequential(
            [
                keras.layers.Conv2D(
                    filters=config.projection_dim,
                    kernel_size=(config.patch_size, config.patch_size),
                    strides=(config.patch_size, config.patch_size),
                    padding="VALID",
                    name="conv_projection",
                    kernel_initializer="lecun_normal",
                ),
                keras.layers.Reshape(
                    target_shape=(-1, config.projection_dim),
                    name="flatten_projection",
                ),
            ],
            name="projection",
        )

        # CLS token and the positional embeddings.
        self.cls_token = keras.Variable(ops.zeros((1, 1, config.projection_dim)))
        self.pos_embed = keras.Variable(ops.zeros((1, config.num_patches, config.projection_dim)))

        # Projection dropout.
        self.pos_drop = keras.layers.Dropout(config.dropout_rate, name="projection_dropout")

        # Stochastic depth schedule.
        dpr = [config.drop_path_rate for _ in range(config.sa_ffn_layers)]

        # Self-attention (SA) Transformer blocks operating only on the image patch
        # embeddings.
        self.blocks = [
            LayerScaleBlock(config, name=f"sa_ffn_block_{i}", drop_prob=dpr[i])
            for i in range(config.sa_ffn_layers)
        ]

        # Class Attention (CA) Transformer blocks operating on the CLS token and image patch
        # embeddings.
        ca_config = deepcopy(config)
        ca_config.dropout_rate = 0.0
        self.blocks_token_only = [
            LayerScaleBlockClassAttn(config=ca_config, name=f"ca_ffn_block_{i}", drop_prob=0.0)
            for i in range(config.ca_ffn_layers)
        ]

        # Pre-classification layer normalization.
        self.norm = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="head_norm")

        # Classification head.
        if not config.pre_logits:
            self.head = keras.layers.Dense(config.num_classes, name="classification_head")

    def call(self, x):
        # Notice how CLS token is not added here.
        x = self.projection(x)
        x = x + self.pos_embed
        x = self.pos_drop(x)

        # SA+FFN layers.
        sa_ffn_attn = {}
        for blk in self.blocks:
            x, attn_scores = blk(x)
            sa_ffn_attn[f"{blk.name}_att"] = attn_scores

        # CA+FFN layers.
        ca_ffn_attn = {}
        cls_tokens = ops.tile(self.cls_token, (ops.shape(x)[0], 1, 1))
        for blk in self.blocks_token_only:
            cls_tokens, attn_scores = blk([x, cls_tokens])
            ca_ffn_attn[f"{blk.name}_att"] = attn_scores

        x = ops.concatenate([cls_tokens, x], axis=1)
        x = self.norm(x)

        # Always return the attention scores from the SA+FFN and CA+FFN layers
        # for convenience.
        if self.config.global_pool:
            x = ops.mean(x[:, 1:], axis=1) if self.config.global_pool == "avg" else x[:, 0]
        return (
            (x, sa_ffn_attn, ca_ffn_attn)
            if self.config.pre_logits
            else (self.head(x), sa_ffn_attn, ca_ffn_attn)
        )


def get_config(
    model_name="cait_xxs24_224",
    image_size=224,
    patch_size=16,
    projection_dim=192,
    sa_ffn_layers=24,
    ca_ffn_layers=2,
    num_heads=4,
    mlp_ratio=4,
    layer_norm_eps=1e-6,
    init_values=1e-5,
    dropout_rate=0.0,
    drop_path_rate=0.0,
    pre_logits=False,
):
    """Default configuration for CaiT models (cait_xxs24_224), as a namespace."""
    config = SimpleNamespace()
    config.model_name = model_name
    config.image_size = image_size
    config.patch_size = patch_size
    config.num_patches = (config.image_size // config.patch_size) ** 2
    config.num_classes = 10
    config.initializer_range = 0.02
    config.layer_norm_eps = layer_norm_eps
    config.projection_dim = projection_dim
    config.num_heads = num_heads
    config.sa_ffn_layers = sa_ffn_layers
    config.ca_ffn_layers = ca_ffn_layers
    config.mlp_units = [config.projection_dim * mlp_ratio, config.projection_dim]
    config.dropout_rate = dropout_rate
    config.init_values = init_values
    config.drop_path_rate = drop_path_rate
    config.global_pool = "token"
    config.pre_logits = pre_logits
    return config


# (cut to 16x16 images, 4x4 patches, 8 channels, two blocks of each kind)
config = get_config(
    image_size=16,
    patch_size=4,
    projection_dim=8,
    sa_ffn_layers=2,
    num_heads=2,
    mlp_ratio=2,
    init_values=0.1,
)
cait_xxs24_224 = CaiT(config)

dummy_inputs = ops.ones((2, 16, 16, 3))
_ = cait_xxs24_224(dummy_inputs)
print(cait_xxs24_224.summary(expand_nested=True))
print([(v.path, tuple(v.shape)) for v in cait_xxs24_224.weights[:4]], len(cait_xxs24_224.weights))
wrng = np.random.default_rng(3)
cait_xxs24_224.set_weights(
    [(wrng.standard_normal(w.shape) * 0.3).astype("float32") for w in cait_xxs24_224.get_weights()]
)
images = np.random.default_rng(0).random((3, 16, 16, 3)).astype("float32")
logits, sa_atn_score_dict, ca_atn_score_dict = cait_xxs24_224.predict(images, verbose=0)
print(np.round(logits[0], 4).tolist())
print(sorted(sa_atn_score_dict), sorted(ca_atn_score_dict))
# (batch_size, nb_attention_heads, num_cls_token, seq_length)
print(ca_atn_score_dict["ca_ffn_block_0_att"].shape, sa_atn_score_dict["sa_ffn_block_1_att"].shape)
print(np.round(ca_atn_score_dict["ca_ffn_block_1_att"][0, :, 0, :4], 4).tolist())
