"""Every optimizer, loss, metric, initializer, regularizer and constraint class that Keras
3.15 and minicnn both have, made with its defaults, and its ``get_config()`` printed as
JSON (sorted keys), one line per class: the configs of the two libraries compared key by
key (tests/test_keras_layer_configs.py)."""

import inspect
import json
import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
else:
    import minicnn as keras

KINDS = ("optimizers", "losses", "metrics", "initializers", "regularizers", "constraints")


def main():
    for kind in KINDS:
        module = getattr(keras, kind)
        for name in sorted(dir(module)):
            cls = getattr(module, name)
            if not inspect.isclass(cls) or name.startswith("_") or not name[0].isupper():
                continue
            try:
                config = cls().get_config()
            except Exception as error:  # a class that needs arguments, or one library lacks
                print(f"{kind}.{name}", "error", type(error).__name__)
                continue
            print(
                f"{kind}.{name}",
                json.dumps(json.loads(json.dumps(config, default=repr)), sort_keys=True),
            )


main()
