"""Time one training step of a study model in minicnn and in PyTorch, side by side.

    python benchmarks/compare_torch.py --device cpu --model base
    python benchmarks/compare_torch.py --device gpu --model base
    python benchmarks/compare_torch.py --device gpu --model base --jit-compile
    python benchmarks/compare_torch.py --device cpu --model volume --batch-size 16

Both run in this process (on the CPU with the same thread count), alternating step by step
after a warm-up, on the same batch; the last line is ``ratio minicnn/torch: X.XX`` (median over
median). On a GPU each timed step ends when its last kernel has finished: PyTorch's with
``loss.item()``, minicnn's by reading its loss. ``--jit-compile`` times minicnn's step as fit
runs it after ``compile(jit_compile=True)``: captured in a CUDA graph and replayed.
``--model volume`` is not the study's: a small 3-D CNN on 16x32x32 volumes (``volume_models``);
nor are ``--model resnet`` (a small CIFAR-style ResNet with batch norm), ``mobilenet``,
``lstm``, ``gru``, ``textcnn`` and ``transformer`` (``PEERS``: each model with its PyTorch
twin).
PyTorch is only the peer we measure against (``pip install -e .[bench]``), never a dependency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

STEPS_PER_EPOCH = 469


def torch_model(model_id: str, torch):
    """The same architecture in PyTorch (NCHW), built from the study's notation."""
    from minicnn.experiments import zoo

    nn = torch.nn
    modules: list = []
    channels, size = 1, 28
    features = None
    for token in zoo.get_spec(model_id).layers.split():
        if token.startswith("C"):
            filters, rest = token[1:].split("-")
            k, pad = int(rest[:-1]), rest[-1]
            modules += [
                nn.Conv2d(channels, int(filters), k, padding="same" if pad == "s" else 0),
                nn.ReLU(),
            ]
            channels, size = int(filters), size if pad == "s" else size - k + 1
        elif token == "P":
            modules.append(nn.MaxPool2d(2))
            size //= 2
        elif token == "F":
            modules.append(nn.Flatten())
            features = channels * size * size
        elif token == "Dr":
            modules.append(nn.Dropout(0.2))
        elif token.startswith("D"):
            modules += [nn.Linear(features, int(token[1:])), nn.ReLU()]
            features = int(token[1:])
        else:  # O10: logits; CrossEntropyLoss applies the softmax
            modules.append(nn.Linear(features, int(token[1:])))
    return nn.Sequential(*modules)


VOLUME_SHAPE = (16, 32, 32, 1)


def volume_models(torch, device: str):
    """A 3-D CNN in minicnn and the same in PyTorch (NCDHW): two 3x3x3 'same' convolutions
    with a 2x2x2 max pool between them, global average pooling and 10 logits."""
    from minicnn import Input, Sequential
    from minicnn import layers as L

    ours = Sequential(
        [
            Input(VOLUME_SHAPE),
            L.Conv3D(16, 3, padding="same", activation="relu"),
            L.MaxPooling3D(2),
            L.Conv3D(32, 3, padding="same", activation="relu"),
            L.GlobalAveragePooling3D(),
            L.Dense(10, activation="softmax"),
        ],
        device=device,
    )
    nn = torch.nn
    theirs = nn.Sequential(
        nn.Conv3d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool3d(2),
        nn.Conv3d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    return ours, theirs


RESNET_SHAPE = (32, 32, 3)


def resnet_models(torch, device: str):
    """A small CIFAR-style ResNet in minicnn (functional) and in PyTorch: a 3x3 stem of 16
    filters, then three basic blocks (16, 32 and 64 filters; the last two halve the size,
    with a 1x1 projection on the shortcut), each two 3x3 convolutions with batch norm,
    ReLU after the residual sum; global average pooling and 10 logits."""
    from minicnn import Input, Model
    from minicnn import layers as L

    def conv_bn(x, filters, strides=1, relu=True):
        x = L.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        return L.ReLU()(x) if relu else x

    inputs = Input(RESNET_SHAPE)
    x = conv_bn(inputs, 16)
    for filters, strides in ((16, 1), (32, 2), (64, 2)):
        shortcut = x
        if strides != 1:
            shortcut = L.Conv2D(filters, 1, strides=strides, use_bias=False)(x)
            shortcut = L.BatchNormalization()(shortcut)
        y = conv_bn(conv_bn(x, filters, strides), filters, relu=False)
        x = L.ReLU()(L.Add()([y, shortcut]))
    outputs = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
    ours = Model(inputs, outputs, device=device)

    nn = torch.nn

    def torch_conv_bn(cin, cout, stride=1, relu=True):
        layers = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
        return layers + [nn.ReLU()] if relu else layers

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(
                *torch_conv_bn(cin, cout, stride), *torch_conv_bn(cout, cout, relu=False)
            )
            self.shortcut = (
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1
                else nn.Identity()
            )

        def forward(self, x):
            return torch.relu(self.body(x) + self.shortcut(x))

    theirs = nn.Sequential(
        *torch_conv_bn(3, 16),
        Block(16, 16, 1),
        Block(16, 32, 2),
        Block(32, 64, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )
    return ours, theirs


TOKENS = {"lstm": 80, "gru": 80, "textcnn": 200, "transformer": 64}  # sequence lengths
VOCABULARY = 5000


def _recurrent_models(kind: str, torch, device: str):
    """A text classifier: Embedding(5000, 64), ``kind`` (LSTM or GRU) of 64 units over 80
    tokens, 2 classes; minicnn's and PyTorch's (Keras' GRU, reset_after=True, is PyTorch's)."""
    from minicnn import Input, Sequential
    from minicnn import layers as L

    ours = Sequential(
        [
            Input((TOKENS[kind.lower()],), dtype="int32"),
            L.Embedding(VOCABULARY, 64),
            getattr(L, kind)(64),
            L.Dense(2, activation="softmax"),
        ],
        device=device,
    )
    nn = torch.nn

    class Theirs(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCABULARY, 64)
            self.recurrent = getattr(nn, kind)(64, 64, batch_first=True)
            self.dense = nn.Linear(64, 2)

        def forward(self, x):
            _, state = self.recurrent(self.embedding(x))
            h = state[0] if isinstance(state, tuple) else state  # an LSTM's is (h, c)
            return self.dense(h[-1])

    return ours, Theirs()


def lstm_models(torch, device: str):
    """A text classifier: Embedding(5000, 64), LSTM(64) over 80 tokens, 2 classes."""
    return _recurrent_models("LSTM", torch, device)


def gru_models(torch, device: str):
    """The same with GRU(64) (Keras' default reset_after=True, PyTorch's GRU)."""
    return _recurrent_models("GRU", torch, device)


def textcnn_models(torch, device: str):
    """A convolutional text classifier over 200 tokens: Embedding(5000, 64), Conv1D(128, 5,
    ReLU), max over the steps, Dense(64, ReLU), 2 classes."""
    from minicnn import Input, Sequential
    from minicnn import layers as L

    ours = Sequential(
        [
            Input((TOKENS["textcnn"],), dtype="int32"),
            L.Embedding(VOCABULARY, 64),
            L.Conv1D(128, 5, activation="relu"),
            L.GlobalMaxPooling1D(),
            L.Dense(64, activation="relu"),
            L.Dense(2, activation="softmax"),
        ],
        device=device,
    )
    nn = torch.nn

    class Theirs(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCABULARY, 64)
            self.conv = nn.Conv1d(64, 128, 5)
            self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2))

        def forward(self, x):
            h = torch.relu(self.conv(self.embedding(x).transpose(1, 2)))
            return self.head(h.amax(2))

    return ours, Theirs()


def transformer_models(torch, device: str):
    """One post-norm transformer encoder block over 64 tokens: Embedding(5000, 128),
    4-head self-attention, a 256-unit ReLU feed-forward layer, layer norms after each
    residual sum, mean over the tokens, 2 classes (PyTorch's TransformerEncoderLayer)."""
    from minicnn import Input, Model
    from minicnn import layers as L

    tokens = Input((TOKENS["transformer"],), dtype="int32")
    h = L.Embedding(VOCABULARY, 128)(tokens)
    h = L.LayerNormalization(epsilon=1e-5)(L.Add()([h, L.MultiHeadAttention(4, 32)(h, h)]))
    fed = L.Dense(128)(L.Dense(256, activation="relu")(h))
    h = L.LayerNormalization(epsilon=1e-5)(L.Add()([h, fed]))
    outputs = L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(h))
    ours = Model(tokens, outputs, device=device)
    nn = torch.nn

    class Theirs(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCABULARY, 128)
            self.block = nn.TransformerEncoderLayer(128, 4, 256, dropout=0.0, batch_first=True)
            self.dense = nn.Linear(128, 2)

        def forward(self, x):
            return self.dense(self.block(self.embedding(x)).mean(1))

    return ours, Theirs()


def mobilenet_models(torch, device: str):
    """A small MobileNet on 32x32x3 images: a stride-2 3x3 stem of 32 filters, then three
    depthwise-separable blocks (3x3 depthwise, 1x1 to 64, 128 and 128 filters, the second
    at stride 2), batch norm and ReLU after each convolution, global average pooling."""
    from minicnn import Input, Sequential
    from minicnn import layers as L

    nn = torch.nn
    ours = [Input(RESNET_SHAPE), L.Conv2D(32, 3, strides=2, padding="same", use_bias=False)]
    ours += [L.BatchNormalization(), L.ReLU()]
    theirs = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
    channels = 32
    for filters, strides in ((64, 1), (128, 2), (128, 1)):
        ours += [
            L.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False),
            L.BatchNormalization(),
            L.ReLU(),
            L.Conv2D(filters, 1, use_bias=False),
            L.BatchNormalization(),
            L.ReLU(),
        ]
        theirs += [
            nn.Conv2d(channels, channels, 3, strides, 1, groups=channels, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, filters, 1, bias=False),
            nn.BatchNorm2d(filters),
            nn.ReLU(),
        ]
        channels = filters
    ours += [L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")]
    theirs += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return Sequential(ours, device=device), nn.Sequential(*theirs)


PEERS = {
    "volume": volume_models,
    "resnet": resnet_models,
    "lstm": lstm_models,
    "gru": gru_models,
    "textcnn": textcnn_models,
    "transformer": transformer_models,
    "mobilenet": mobilenet_models,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--model", default="base", choices=("base", "w4", "mlp", *PEERS))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--jit-compile", action="store_true", help="minicnn's step in a CUDA graph (GPU only)"
    )
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0", file=sys.stderr)
        return 2
    import numba

    from minicnn import backend, optimizers
    from minicnn.experiments import zoo

    if args.device == "gpu" and not (backend.gpu_available() and torch.cuda.is_available()):
        print("--device gpu needs CuPy and PyTorch that both see a GPU.", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    if args.model in TOKENS:
        x = rng.integers(1, VOCABULARY, (args.batch_size, TOKENS[args.model]))
        y = rng.integers(0, 2, args.batch_size)
    else:
        sample = {"volume": VOLUME_SHAPE, "resnet": RESNET_SHAPE, "mobilenet": RESNET_SHAPE}
        x = rng.random((args.batch_size, *sample.get(args.model, (28, 28, 1))), dtype=np.float32)
        y = rng.integers(0, 10, args.batch_size)

    backend.set_random_seed(0)
    torch.manual_seed(0)
    if args.model in PEERS:
        ours, theirs = PEERS[args.model](torch, args.device)
    else:
        ours, theirs = (
            zoo.build_model(args.model, device=args.device),
            torch_model(args.model, torch),
        )
    ours.compile(
        optimizers.Adam(),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=args.jit_compile,
    )

    torch_device = torch.device("cuda" if args.device == "gpu" else "cpu")
    theirs = theirs.to(torch_device)
    opt = torch.optim.Adam(theirs.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    channels_first = (0, x.ndim - 1, *range(1, x.ndim - 1))
    tokens = args.model in TOKENS  # ids go as they are; images channels-first
    tx = torch.from_numpy(x if tokens else x.transpose(channels_first).copy()).to(torch_device)
    ty = torch.from_numpy(y).to(torch_device)

    def torch_step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(theirs(tx), ty)
        loss.backward()
        opt.step()
        loss.item()  # waits for the step, as a training loop that logs the loss does

    if args.device == "cpu":

        def ours_step() -> None:
            ours.train_on_batch(x, y)

    else:
        # The batch stays on the GPU, as in fit; the step is timed up to its last kernel.
        x_device, y_device = ours._prepare(x, y)
        train_step = ours._fit_step()  # captured and replayed with --jit-compile

        def ours_step() -> None:
            loss, _ = train_step(x_device, y_device)
            float(loss)

    for _ in range(args.warmup):
        ours_step()
        torch_step()
    times: dict[str, list[float]] = {"minicnn": [], "torch": []}
    for _ in range(args.steps):
        for name, step in (("minicnn", ours_step), ("torch", torch_step)):
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    where = f"{args.threads} threads" if args.device == "cpu" else gpu_name(torch)
    print(
        f"model {args.model}, batch {args.batch_size}, device {args.device} ({where}), "
        f"torch {torch.__version__}, numpy {np.__version__}, numba {numba.__version__}"
        + (f", cupy {backend.cupy_module().__version__}" if args.device == "gpu" else "")
        + (", minicnn step in a CUDA graph" if args.jit_compile and args.device == "gpu" else "")
    )
    captured = getattr(ours._captured_step, "failure", None)
    if captured is not None:
        print(f"the CUDA graph capture failed ({captured}); minicnn's step ran uncaptured")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        print(
            f"{name:8s} median {1e3 * median:8.2f} ms/step  "
            f"({STEPS_PER_EPOCH * median:6.1f} s/epoch of {STEPS_PER_EPOCH} steps)"
        )
    print(f"ratio minicnn/torch: {medians['minicnn'] / medians['torch']:.2f}")
    return 0


def gpu_name(torch) -> str:
    return torch.cuda.get_device_name(0)


if __name__ == "__main__":
    sys.exit(main())
