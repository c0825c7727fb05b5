"""Writes the ONNX files of test_onnx_import: small PyTorch models exported by PyTorch's
own exporters, with an input and PyTorch's output for it in <name>.npz.

Not part of the test run (PyTorch is never a dependency of minicnn): run it by hand in a
virtualenv with torch 2.13 and onnxscript, from this folder:

    python make_torch_files.py
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Classifier(nn.Module):
    """A CNN as PyTorch users write one: batch norm, ceil-mode max pooling, a grouped
    convolution, an average pooling that leaves its padding out, x.view(x.size(0), -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2, ceil_mode=True)
        self.conv2 = nn.Conv2d(8, 12, 3, stride=2, padding=1, groups=4)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.fc1 = nn.Linear(12 * 2 * 2, 16)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool2(torch.relu(self.conv2(x)))
        x = x.view(x.size(0), -1)
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


class Blocks(nn.Module):
    """Residual, depthwise, transposed and upsampling blocks and most activations."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 6, 3, padding=1, bias=False)
        self.depthwise = nn.Conv2d(6, 12, 3, padding=1, groups=6)
        self.point = nn.Conv2d(12, 6, 1)
        self.up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.down = nn.Conv2d(4, 4, 2, stride=2)
        self.head = nn.Linear(4 + 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.leaky_relu(self.stem(x), 0.1)
        y = nn.functional.hardswish(self.depthwise(x))
        x = x + nn.functional.gelu(self.point(y))
        z = nn.functional.silu(self.up(x))
        z = nn.functional.relu6(self.down(z))
        near = nn.functional.interpolate(z, scale_factor=2, mode="nearest")
        smooth = nn.functional.interpolate(z, scale_factor=2, mode="bilinear", align_corners=False)
        z = nn.functional.elu(near - smooth) + torch.sigmoid(near)
        peaks = x.amax((2, 3), keepdim=True)
        pooled = torch.cat([nn.functional.adaptive_avg_pool2d(z, 1), peaks], 1)
        return nn.functional.softplus(self.head(torch.flatten(pooled, 1)))


class Sequence(nn.Module):
    """1-D convolutions over a sequence, a layer norm, a dense layer on every step."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.pool = nn.MaxPool1d(2)
        self.avg = nn.AvgPool1d(3, stride=1, padding=1)  # counts its padding (PyTorch's default)
        self.norm = nn.LayerNorm(8)
        self.step = nn.Linear(8, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avg(self.pool(torch.tanh(self.conv(x))))
        x = self.step(self.norm(x.transpose(1, 2)))
        return torch.log_softmax(x.mean(1), -1)


class Edges(nn.Module):
    """The corners of padding, pooling and transposed convolutions, and layout-bound ops."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg = nn.AvgPool2d(2, stride=2, ceil_mode=True)
        self.deconv = nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)
        self.grow = nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1)
        self.norm = nn.InstanceNorm2d(2, affine=True)
        self.volume = nn.Conv3d(1, 2, 3, padding=(1, 0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.avg(self.pool(x))  # (3, 7, 7) -> (3, 4, 4) -> (3, 2, 2)
        b = self.norm(self.grow(self.deconv(a)))  # (4, 4, 4) -> (2, 10, 10)
        b = nn.functional.pad(b, (1, 2, 0, 1), mode="reflect")[:, :, 1:-1, ::2]
        c = torch.softmax(b, dim=1) * b.sum(dim=(2, 3), keepdim=True)
        d = nn.functional.interpolate(c, size=(7, 5), mode="bilinear", align_corners=False)
        v = self.volume(d.unsqueeze(1)).amax(dim=2)  # a 3-D convolution of the 2 channels
        return torch.cat([v.permute(0, 1, 3, 2).flatten(1), d.mean(1).flatten(1)], 1)


class Residual(nn.Module):
    """ResNet's basic block: two 3x3 convolutions with batch norm, a 1x1 projection where the
    shape changes, ReLU after the sum."""

    def __init__(self, channels: int, filters: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, filters, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters)
        self.project = None
        if stride != 1 or channels != filters:
            self.project = nn.Sequential(
                nn.Conv2d(channels, filters, 1, stride, bias=False), nn.BatchNorm2d(filters)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.project is None else self.project(x)))


class ResNet(nn.Module):
    """A small ResNet as torchvision writes one: a 7x7 stride-2 stem, 3x3 stride-2 max
    pooling with padding, basic blocks, global average pooling, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 7, 2, 3, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        self.blocks = nn.Sequential(Residual(8, 8, 1), Residual(8, 16, 2))
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Recurrent(nn.Module):
    """PyTorch's recurrent layers, batch first: an LSTM, a bidirectional GRU whose final
    states are read too, and a ReLU RNN."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 6, batch_first=True)
        self.gru = nn.GRU(6, 4, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(8, 3, batch_first=True, nonlinearity="relu")
        self.fc = nn.Linear(3 + 8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        z, last = self.gru(y)  # last: (directions, batch, units)
        r, _ = self.rnn(z)
        return self.fc(torch.cat([r[:, -1], last.transpose(0, 1).flatten(1)], 1))


class UnrolledRNN(nn.Module):
    """A tanh RNN and a head on its last step: PyTorch's default (dynamo) exporter writes
    nn.RNN unrolled, step by step, its zero state times the recurrent kernel first."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(5, 3, batch_first=True)
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps, _ = self.rnn(x)
        return self.fc(steps[:, -1])


class LocalResponse(nn.Module):
    """AlexNet's local response normalization: the TorchScript exporter writes it with an
    If on the input's rank (known at import), the dynamo exporter as a pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.norm = nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.conv(x)))


class Seq2Seq(nn.Module):
    """Decoders started from their encoders' final states: an LSTM's (h, c), and a
    bidirectional GRU's h for both directions."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(5, 6, batch_first=True)
        self.decoder = nn.LSTM(5, 6, batch_first=True)
        self.gru_encoder = nn.GRU(5, 4, batch_first=True, bidirectional=True)
        self.gru_decoder = nn.GRU(5, 4, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(6 + 8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, c) = self.encoder(x)
        y, _ = self.decoder(x[:, :3], (h, c))
        _, both = self.gru_encoder(x)
        z, _ = self.gru_decoder(x[:, 2:], both)
        return self.fc(torch.cat([y[:, -1], z[:, -1]], 1))


class Extras(nn.Module):
    """Per-channel PReLU, Mish, CELU, sub-pixel convolution (pixel shuffle and unshuffle),
    a repeat and a product over an axis."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 3, padding=1)
        self.prelu = nn.PReLU(8)
        self.shuffle = nn.PixelShuffle(2)
        self.unshuffle = nn.PixelUnshuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prelu(self.conv(x))  # (8, 6, 6)
        up = nn.functional.mish(self.shuffle(x))  # (2, 12, 12)
        down = nn.functional.celu(self.unshuffle(up))  # (8, 6, 6)
        tiled = down[:, :2].repeat(1, 2, 1, 1)  # (4, 6, 6)
        return torch.cat([tiled.prod(1).flatten(1), down.argmax(1).float().flatten(1)], 1)


class Resizes(nn.Module):
    """F.interpolate as segmentation models use it: sizes that are no multiple, corners
    aligned, bicubic, and a 1-D linear resize."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = nn.functional.interpolate
        parts = [
            f(x, size=(7, 9), mode="nearest"),
            f(x, size=(7, 9), mode="bilinear", align_corners=True),
            f(x, size=(3, 4), mode="bilinear", align_corners=False),
            f(x, size=(7, 9), mode="bicubic", align_corners=False),
            f(x, scale_factor=1.5, mode="bicubic", align_corners=True),
            f(x.flatten(2), size=11, mode="linear", align_corners=False).unflatten(2, (1, 11)),
        ]
        return torch.cat([p.flatten(1) for p in parts], 1)


class Attention(nn.Module):
    """Self-attention as ViT implementations write it (timm's): one projection to q, k
    and v, heads split by reshape and permute, softmax(q k^T * scale) v."""

    def __init__(self, dim: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attention = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """A pre-norm transformer block: attention and a GELU MLP, each with its residual."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 32), nn.GELU(), nn.Linear(32, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """A small ViT: 4x4 patches, a position embedding, two blocks, mean pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.pos = nn.Parameter(torch.zeros(1, 16, 16))
        self.blocks = nn.Sequential(Block(), Block())
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        return self.head(self.norm(self.blocks(x)).mean(1))


class Attentions(nn.Module):
    """nn.MultiheadAttention three ways: its averaged weights returned and used
    (need_weights=True, the default), time-major with a causal mask, and attending to keys
    and values of other widths (kdim, vdim) over fewer steps."""

    def __init__(self) -> None:
        super().__init__()
        self.own = nn.MultiheadAttention(16, 4, batch_first=True)
        self.causal = nn.MultiheadAttention(16, 2)
        self.cross = nn.MultiheadAttention(16, 4, kdim=8, vdim=6, batch_first=True)
        self.keys, self.values = nn.Linear(16, 8), nn.Linear(16, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, weights = self.own(x, x, x)
        steps = y.transpose(0, 1)
        mask = torch.triu(torch.full((x.shape[1], x.shape[1]), float("-inf")), 1)
        steps, _ = self.causal(steps, steps, steps, attn_mask=mask, need_weights=False)
        y, memory = steps.transpose(0, 1), x[:, :3]
        z, _ = self.cross(y, self.keys(memory), self.values(memory), need_weights=False)
        return z + weights.mean(1, keepdim=True)[..., :1]


class Transformer(nn.Module):
    """nn.TransformerEncoder (two post-norm layers) over embedded ids, then a pre-norm
    nn.TransformerDecoderLayer with GELU attending to the first steps; batch first."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 16)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoderLayer(
            16, 4, 32, dropout=0.0, batch_first=True, norm_first=True, activation="gelu"
        )
        self.head = nn.Linear(16, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.encoder(self.embed(ids))
        return self.head(self.decoder(x, x[:, :3]).mean(1))


class TokenViT(nn.Module):
    """ViT as torchvision writes it: 4x4 patches, a class token before them, learned
    position embeddings, a pre-norm nn.TransformerEncoderLayer, the class token's output."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.pos_embedding = nn.Parameter(torch.zeros(1, 17, 16))
        self.encoder = nn.TransformerEncoderLayer(
            16, 4, 32, dropout=0.0, batch_first=True, norm_first=True, activation="gelu"
        )
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embedding
        return self.head(self.norm(self.encoder(x))[:, 0])


class TimmViT(TokenViT):
    """The class-token ViT with timm's attention block (its reshapes name the batch
    size: a file traced at a batch of one still says where the batch is)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Block()


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block: a 7x7 depthwise convolution, LayerNorm and a GELU MLP on
    channels-last pixels, the branch scaled by a learned gamma per channel, a residual."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.expand = nn.Linear(channels, 4 * channels)
        self.project = nn.Linear(4 * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), 0.5))
        self.head = nn.Linear(channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(x).permute(0, 2, 3, 1)
        y = self.gamma * self.project(nn.functional.gelu(self.expand(self.norm(y))))
        return self.head((x + y.permute(0, 3, 1, 2)).mean((2, 3)))


class WindowAttention(nn.Module):
    """Swin's shifted-window attention: pixels rolled, cut into 4x4 windows folded into
    the batch, attention per window with a learned relative position bias, windows put back,
    rolled back."""

    def __init__(self, channels: int = 8, window: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.window, self.heads = window, heads
        self.embed = nn.Conv2d(3, channels, 1)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        self.bias = nn.Parameter(torch.zeros(heads, window**2, window**2))
        self.head = nn.Linear(channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.roll(self.embed(x).permute(0, 2, 3, 1), shifts=(-2, -2), dims=(1, 2))
        b, h, w, c = x.shape
        s, n = self.window, self.window**2
        windows = x.view(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, n, c)
        count = windows.shape[0]
        qkv = self.qkv(windows).reshape(count, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5 + self.bias
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(count, n, c)
        y = self.proj(y).view(b, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5)
        y = torch.roll(y.reshape(b, h, w, c), shifts=(2, 2), dims=(1, 2))
        return self.head(y.mean((1, 2)))


class PaddingMask(nn.Module):
    """A transformer layer told which tokens are padding (id 0: src_key_padding_mask), then
    the mean of the others' outputs (a clamp(min=1) of their count)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.encoder = nn.TransformerEncoderLayer(16, 4, 32, 0.0, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        padding = ids == 0
        y = self.encoder(self.embed(ids), src_key_padding_mask=padding)
        kept = (~padding).unsqueeze(-1).float()
        return self.head((y * kept).sum(1) / kept.sum(1).clamp(min=1))


class Siamese(nn.Module):
    """One encoder called on two images, the distance of their codes scored: PyTorch's
    shared weights (one Conv2d and one Linear, each used twice)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 6),
        )
        self.head = nn.Linear(6, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head((self.encoder(a) - self.encoder(b)).abs()))


class Frames(nn.Module):
    """A CNN over each frame of a clip, (batch, frames, channels, height, width) folded to
    (batch * frames, ...) and back, then an LSTM over the frames (TimeDistributed's way)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 4, 3, stride=2)
        self.lstm = nn.LSTM(4 * 2 * 2, 5, batch_first=True)
        self.fc = nn.Linear(5, 3)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        b, t = clip.shape[:2]
        x = clip.reshape(b * t, *clip.shape[2:])
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.relu(self.conv2(x)).flatten(1).reshape(b, t, -1)
        steps, _ = self.lstm(x)
        return self.fc(steps[:, -1])


class Lookup(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.fc = nn.Linear(6, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(self.embed(ids).mean(1)), -1)


def draw_weights(model: nn.Module) -> None:
    """The test files' weights: N(0, 0.4) parameters, floating buffers (batch norm's
    statistics) in [0.5, 1.5), the same draw for each model; eval mode."""
    torch.manual_seed(1)
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.4)
        for b in model.buffers():
            if b.dtype.is_floating_point:
                b.copy_(torch.rand_like(b) + 0.5)


def export(
    name: str,
    model: nn.Module,
    x: torch.Tensor,
    dynamo: bool,
    traced_batch: bool = False,
    more: torch.Tensor | None = None,
) -> None:
    draw_weights(model)
    with torch.no_grad():
        expected = model(x).numpy()
        # Another batch (of another size) and PyTorch's output for it.
        extra = {}
        if more is not None:
            extra = {"x_more": more.numpy(), "expected_more": model(more).numpy()}
    path = f"{name}.onnx"
    if dynamo:  # PyTorch's default exporter, which keeps the weights in name.onnx.data
        shapes = None if traced_batch else ({0: torch.export.Dim("batch")},)
        program = torch.onnx.export(model, (x,), dynamo=True, dynamic_shapes=shapes)
        for node in program.model.graph:  # PyTorch's stack traces: most of the file's size
            node.metadata_props.clear()
        program.save(path, external_data=True)
    else:  # the TorchScript exporter, BatchNormalization kept as its own node
        torch.onnx.export(
            model,
            (x,),
            path,
            dynamo=False,
            input_names=["input"],
            dynamic_axes=None if traced_batch else {"input": {0: "batch"}},
            do_constant_folding=False,
            training=torch.onnx.TrainingMode.PRESERVE,
        )
    np.savez(f"{name}.npz", x=x.numpy(), expected=expected, **extra)


def export_pair(name: str, model: nn.Module, a: torch.Tensor, b: torch.Tensor) -> None:
    """A model of two inputs (the TorchScript exporter), its weights drawn as export's."""
    draw_weights(model)
    with torch.no_grad():
        expected = model(a, b).numpy()
    batch = {0: "batch"}
    torch.onnx.export(
        model,
        (a, b),
        f"{name}.onnx",
        dynamo=False,
        input_names=["a", "b"],
        dynamic_axes={"a": batch, "b": batch},
    )
    np.savez(f"{name}.npz", a=a.numpy(), b=b.numpy(), expected=expected)


def main() -> None:
    torch.manual_seed(0)
    export("classifier", Classifier(), torch.randn(3, 3, 15, 15), dynamo=False)
    export("blocks", Blocks(), torch.randn(2, 2, 8, 8), dynamo=True)
    export("sequence", Sequence(), torch.randn(2, 4, 12), dynamo=True)
    export("lookup", Lookup(), torch.randint(0, 20, (3, 5)), dynamo=False)
    export("edges", Edges(), torch.randn(2, 3, 13, 13), dynamo=False)
    export("resnet", ResNet(), torch.randn(2, 3, 32, 32), dynamo=False)
    export("recurrent", Recurrent(), torch.randn(3, 7, 5), dynamo=False)
    export("extras", Extras(), torch.randn(2, 2, 6, 6), dynamo=False)
    export("resizes", Resizes(), torch.randn(2, 2, 5, 6), dynamo=False)
    export("vit", VisionTransformer(), torch.randn(2, 3, 16, 16), dynamo=False)
    export("attentions", Attentions(), torch.randn(2, 5, 16), dynamo=False)
    export("vit_token", TokenViT(), torch.randn(2, 3, 16, 16), dynamo=True)
    clip = torch.randn(2, 4, 3, 10, 10)
    export("frames", Frames(), clip, dynamo=False)
    export("frames_dynamo", Frames(), clip, dynamo=True)  # its LSTM's zero states: Expand
    # Traced at a batch of one, without dynamic axes (torch.onnx.export's plainest call).
    export("frames_traced", Frames(), clip[:1], dynamo=False, traced_batch=True)
    image = torch.randn(1, 3, 16, 16)
    export("vit_token_traced", TimmViT(), image, dynamo=False, traced_batch=True)
    ids = torch.randint(0, 20, (2, 6))
    export("transformer", Transformer(), ids, dynamo=True)
    # The batch size written into the file's shape arithmetic as a number (no dynamic axes).
    export("transformer_traced", Transformer(), ids, dynamo=False, traced_batch=True)
    # Traced at a batch of one: batch * heads is then written as the number of heads.
    one = dict(traced_batch=True, more=torch.randint(0, 20, (3, 6)))
    export("transformer_traced_one", Transformer(), ids[:1], dynamo=False, **one)
    export("seq2seq", Seq2Seq(), torch.randn(2, 7, 5), dynamo=True)
    export("convnext", ConvNeXtBlock(), torch.randn(2, 8, 8, 8), dynamo=False)
    export("swin", WindowAttention(), torch.randn(2, 3, 8, 8), dynamo=True)
    export_pair("siamese", Siamese(), torch.randn(3, 1, 8, 8), torch.randn(3, 1, 8, 8))
    padded = torch.randint(1, 50, (3, 6))
    padded[0, 4:], padded[2, 1:] = 0, 0
    export("padding_mask", PaddingMask(), padded, dynamo=False)  # a ConstantOfShape's zeros
    export("padding_mask_dynamo", PaddingMask(), padded, dynamo=True)  # zeros_like
    steps = torch.randn(3, 4, 5)
    export("rnn_unrolled", UnrolledRNN(), steps, dynamo=True, more=torch.randn(5, 4, 5))
    # Traced at a batch of three: the zero state's product, folded by the exporter, is a
    # constant of three equal rows.
    export("rnn_unrolled_traced", UnrolledRNN(), steps, dynamo=True, traced_batch=True)
    export("local_response", LocalResponse(), torch.randn(2, 3, 9, 9), dynamo=False)


if __name__ == "__main__":
    main()
