"""minicnn.tree, Keras' keras.tree: these answers are Keras 3.15's own on the same calls."""

import collections
import warnings

import pytest

from minicnn import tree

Pair = collections.namedtuple("Pair", "b a")
NEST = {"z": [1, (2, None)], "a": Pair(3, {"y": 4, "x": 5}), "m": "str"}


def test_flatten_orders_dicts_by_key_and_keeps_none_and_strings_as_leaves():
    assert tree.flatten(NEST) == [3, 5, 4, "str", 1, 2, None]
    assert tree.flatten_with_path(NEST) == [
        (("a", 0), 3),
        (("a", 1, "x"), 5),
        (("a", 1, "y"), 4),
        (("m",), "str"),
        (("z", 0), 1),
        (("z", 1, 0), 2),
        (("z", 1, 1), None),
    ]
    assert [tree.is_nested(v) for v in ("abc", [], None, Pair(1, 2), {}, (1,))] == [
        False,
        True,
        False,
        True,
        True,
        True,
    ]
    assert [tree.flatten(1), tree.flatten([]), tree.flatten({"b": None, "a": [None]})] == [
        [1],
        [],
        [None, None],
    ]


def test_pack_and_map_rebuild_each_kind_of_node():
    packed = tree.pack_sequence_as(NEST, list(range(7)))
    assert packed == {"z": [4, (5, 6)], "a": Pair(b=0, a={"y": 2, "x": 1}), "m": 3}
    assert list(packed) == ["z", "a", "m"] and isinstance(packed["a"], Pair)
    assert tree.map_structure(lambda x, y: (x, y), [1, {"a": 2}], [3, {"a": 4}]) == [
        (1, 3),
        {"a": (2, 4)},
    ]
    assert tree.map_structure(lambda x: x * 2, (1, [2, 3])) == (2, [4, 6])
    assert tree.map_structure(lambda x, y: x + y, {"a": 1}, collections.OrderedDict(a=2)) == {
        "a": 3
    }
    with pytest.raises(ValueError, match="Expected an instance of list"):
        tree.map_structure(lambda x, y: x, [1, 2], (3, 4))
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    shapes = tree.map_shape_structure(str, {"a": (None, 3), "b": [(2,), (4, 5)]})
    assert shapes == {"a": "(None, 3)", "b": ["(2,)", "(4, 5)"]}
    up_to = tree.map_structure_up_to(
        [1, (2, 3)], lambda a, b: (a, b), [[9, 9], (1, 2)], [0, (5, 6)]
    )
    assert up_to == [([9, 9], 0), ((1, 5), (2, 6))]
    with pytest.raises(ValueError, match="has 7 leaves"):
        tree.pack_sequence_as(NEST, [1, 2])


def test_traverse_top_down_and_bottom_up():
    assert tree.traverse(lambda x: x if isinstance(x, int) else None, [1, [2, 3]]) == [1, [2, 3]]
    assert tree.traverse(lambda x: None, [1, [2, 3]]) == [1, [2, 3]]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, [2, 3]]) == [
        1,
        [None, 3],
    ]
    whole = tree.traverse(
        lambda x: tree.MAP_TO_NONE if isinstance(x, list) and len(x) == 2 else None, [1, [2, 3]]
    )
    assert whole is None
    total = tree.traverse(lambda x: sum(x) if isinstance(x, list) else None, [1, [2, 3]], False)
    assert total == 6
    scaled = tree.traverse(
        lambda x: x * 10 if isinstance(x, int) else None, (1, [2, {"k": 3}]), top_down=False
    )
    assert scaled == (10, [20, {"k": 30}])


def test_structure_checks():
    tree.assert_same_structure([(0, 1)], [(2, 3)])
    tree.assert_same_structure({"a": 1}, collections.OrderedDict(a=2))  # dicts agree by keys
    for a, b in [([1, 2], (1, 2)), ([1, 2], [1, [2]]), ({"a": 1}, {"b": 1}), (Pair(1, 2), (1, 2))]:
        with pytest.raises(ValueError):
            tree.assert_same_structure(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError):  # check_types no longer loosens it, as in Keras
            tree.assert_same_structure([1, 2], (1, 2), check_types=False)
    tree.assert_same_paths([1, 2], (3, 4))
    with pytest.raises(ValueError, match="don't have the same paths"):
        tree.assert_same_paths({"a": 1}, {"b": 1})
