"""``load_onnx`` on If nodes whose condition import knows (TorchScript's checks of a shape):
the branch taken is spliced into the graph; an If on the data is refused. Handmade graphs,
and PyTorch's LocalResponseNorm as its TorchScript exporter writes it (tests/onnx_files)."""

import numpy as np
import pytest
from test_onnx_import import close, kinds, onnx_file, torch_file

from minicnn.onnx_export import node_proto, value_info_proto
from minicnn.onnx_import import OnnxImportError, load_onnx
from minicnn.protobuf import bytes_field, int_field, text_field

RNG = np.random.default_rng(29)


def branch(nodes: list[bytes], output: str) -> bytes:
    """A GraphProto of ``nodes`` whose output is ``output`` (a subgraph reads the outer
    graph's values by name)."""
    return (
        b"".join(bytes_field(1, n) for n in nodes)
        + text_field(2, "branch")
        + bytes_field(12, value_info_proto(output, (None, 3)))
    )


def if_node(condition: str, then: bytes, otherwise: bytes, out: str) -> bytes:
    attributes = [
        text_field(1, "then_branch") + bytes_field(6, then) + int_field(20, 5),
        text_field(1, "else_branch") + bytes_field(6, otherwise) + int_field(20, 5),
    ]
    return (
        text_field(1, condition)
        + text_field(2, out)
        + text_field(3, "check")
        + text_field(4, "If")
        + b"".join(bytes_field(5, a) for a in attributes)
    )


def rank_check_file(path, rank_wanted: int):
    """y = relu(x) * 2 if x has rank ``rank_wanted`` else -x, then + 1: the condition is
    a Shape's size, which import knows."""
    then = branch(
        [
            node_proto("Relu", ["x"], ["r"], "relu"),
            node_proto("Mul", ["r", "two"], ["t"], "double"),
        ],
        "t",
    )
    otherwise = branch([node_proto("Neg", ["x"], ["e"], "negate")], "e")
    nodes = [
        node_proto("Shape", ["x"], ["shape"], "shape"),
        node_proto("Size", ["shape"], ["rank"], "rank"),
        node_proto("Equal", ["rank", "wanted"], ["same"], "same"),
        if_node("same", then, otherwise, "chosen"),
        node_proto("Add", ["chosen", "one"], ["y"], "add"),
    ]
    constants = {
        "wanted": np.array(rank_wanted, np.int64),
        "two": np.array(2.0, np.float32),
        "one": np.array(1.0, np.float32),
    }
    return onnx_file(path, nodes, constants, {"x": (None, 3)}, {"y": (None, 3)})


@pytest.mark.parametrize(
    "rank, expected", [(2, lambda x: np.maximum(x, 0) * 2 + 1), (3, lambda x: 1 - x)]
)
def test_an_if_on_a_shape_takes_its_branch(tmp_path, rank, expected):
    model = load_onnx(rank_check_file(tmp_path / "if.onnx", rank))
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    close(model.predict(x, verbose=0), expected(x))
    assert ("Activation" in kinds(model)) == (rank == 2)


def test_an_if_on_the_data_is_refused(tmp_path):
    then = branch([node_proto("Relu", ["x"], ["r"], "relu")], "r")
    otherwise = branch([node_proto("Neg", ["x"], ["e"], "negate")], "e")
    nodes = [
        node_proto("ReduceSum", ["x", "features"], ["total"], "total", keepdims=0),
        node_proto("Greater", ["total", "zero"], ["positive"], "positive"),
        if_node("positive", then, otherwise, "y"),
    ]
    constants = {"zero": np.array(0.0, np.float32), "features": np.array([1], np.int64)}
    path = onnx_file(tmp_path / "d.onnx", nodes, constants, {"x": (None, 3)}, {"y": (None, 3)})
    with pytest.raises(OnnxImportError, match="'check'.*condition depends on the data"):
        load_onnx(path)


def test_pytorch_local_response_norm_with_its_rank_check():
    """nn.LocalResponseNorm, TorchScript's export: an If on the input's rank around the
    padding and pooling of the squares; the 4-D branch is taken."""
    path, x, expected = torch_file("local_response")
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    close(model.predict(np.concatenate([x, x]), verbose=0), np.concatenate([expected] * 2))
