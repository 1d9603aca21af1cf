"""``chainrule demo``: an MLP learns scikit-learn's handwritten digits in seconds, then shows what
it learned: test accuracy, the confusion matrix and a few test digits with its guesses.

Example::

    >>> result = run_demo(epochs=20, seed=0, out="chainrule-demo")   # prints as it goes
    >>> result.test["best"]["accuracy"] > 0.95
    True
"""

import os

import numpy as np

from .config import validate
from .errors import RunError
from .run import has_module, predict_classes, report, train_run
from .terminal import draw_images


def demo_config(epochs=20, seed=0):
    """The demo's run: 64 -> 128 -> 64 -> 10 with ReLU, cross-entropy and Adam, on 8x8 digits."""
    return validate(
        {
            "data": {"name": "digits", "batch_size": 32, "validation": 0.1, "test_size": 0.2},
            "model": {"layers": [128, 64], "activation": "relu", "dropout": 0.0},
            "loss": {"name": "cross_entropy"},
            "optimizer": {"name": "adam", "lr": 0.001},
            "train": {"epochs": epochs, "seed": seed},
        }
    )


def run_demo(epochs=20, seed=0, out="chainrule-demo", verbose=True, say=print):
    """Train the demo network, print what it learned; returns the :class:`RunResult`."""
    if not has_module("sklearn"):
        raise RunError(
            "the demo learns scikit-learn's bundled digits, and scikit-learn is not installed: "
            "pip install 'chainrule[datasets]'"
        )
    config = demo_config(epochs, seed)
    say("chainrule demo: an MLP 64-128-64-10 (ReLU, Adam) learns to read 8x8 handwritten digits")
    say(f"(scikit-learn's digits; {epochs} epochs, seed {seed})")
    result = train_run(config, out, verbose=verbose, overwrite=True, say=say)
    data, test = result.data, result.test["best"]
    total = len(data.test)
    correct = int(np.trace(test["confusion_matrix"]))
    say("")
    say(f"test accuracy {test['accuracy']:.1%} ({correct} of {total} digits it never saw while training)")
    report(test, data, "best", say=say)
    say("")
    say(draw_examples(result))
    say("")
    if result.curves is not None:
        say(f"learning curves saved to {result.curves}")
    else:
        say("learning curves skipped: matplotlib is missing (pip install 'chainrule[plot]')")
    say(f"the whole run is in {os.path.join(out, '')} ; `chainrule evaluate {out}` measures it again")
    return result


def draw_examples(result, count=6, mistakes=2):
    """A few test digits side by side, each captioned with its true and predicted label.

    Up to ``mistakes`` of them are ones the network got wrong (marked ``X``), the rest right ones.
    """
    data = result.data
    images = np.asarray(data.test.tensors[0]).reshape((-1,) + data.image_shape)
    true = np.asarray(data.test.tensors[1]).reshape(-1)
    predicted = predict_classes(result.trainer, data, result.config)
    wrong = np.flatnonzero(predicted != true)[:mistakes]
    right = np.flatnonzero(predicted == true)[: count - len(wrong)]
    chosen = np.sort(np.concatenate([wrong, right]))
    captions = [f"true {true[i]} pred {predicted[i]}" + (" X" if predicted[i] != true[i] else "") for i in chosen]
    title = "some test digits, with what the network read (X = wrong):"
    return title + "\n\n" + draw_images(images[chosen], captions)
