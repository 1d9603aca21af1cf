"""The examples in examples/ run and learn what they say they learn. Each exposes main(), which
returns the numbers checked here; the expected values come from the problem (XOR's truth table,
the slope of y = 2x, the rule that made the data), not from earlier runs."""

import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_neuron_recovers_the_rule_that_made_the_data(capsys):
    example = load_example("linear_neuron")
    result = example.main()
    np.testing.assert_allclose(result["weight"], example.TRUE_WEIGHT, atol=0.02)
    assert result["bias"] == pytest.approx(example.TRUE_BIAS, abs=0.02)
    assert result["loss"] < 1e-3  # the data's noise has variance 1e-4
    assert "learned w = (" in capsys.readouterr().out


def test_logistic_neuron_separates_the_two_clouds_and_its_gradient_is_p_minus_y():
    result = load_example("logistic_neuron").main()
    assert result["gradient_matches"] is True
    assert result["accuracy"] >= 0.95
    assert result["loss"] < 0.1


def test_xor_network_learns_the_truth_table_and_its_deltas_match_the_formulas(capsys):
    result = load_example("xor").main()
    np.testing.assert_allclose(result["outputs"], [0, 1, 1, 0], atol=0.1)
    (delta1, delta2), (hand1, hand2) = result["deltas"], result["hand_deltas"]
    assert delta1.shape == (4, 3) and delta2.shape == (4, 1)
    np.testing.assert_allclose(delta2, hand2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(delta1, hand1, rtol=1e-5, atol=1e-7)
    out = capsys.readouterr().out
    assert out.count("delta2 = dE/dz2") == 1 and out.count("delta1 = dE/dz1") == 1  # printed once
    assert "1 xor 0 -> " in out


def test_linear_regression_finds_the_slope_of_y_equals_2x():
    result = load_example("linear_regression").main()
    assert result["weight"] == pytest.approx(2.0, abs=0.05)
    assert result["bias"] == pytest.approx(0.0, abs=0.05)


def test_softmax_regression_reads_most_digits():
    pytest.importorskip("sklearn")
    result = load_example("softmax_digits").main(epochs=30)
    assert result["test_accuracy"] >= 0.9  # a linear model: ~95%; chance is 10%
    assert result["train_accuracy"] >= result["test_accuracy"] - 0.05


@pytest.mark.slow
@pytest.mark.skipif(
    not (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists(), reason="Fashion-MNIST is not installed here"
)
def test_fashion_mnist_mlp_reaches_88_percent(capsys):
    result = load_example("fashion_mnist_mlp").main(root=str(FASHION_MNIST))
    assert result["test_accuracy"] >= 0.88
    assert len(result["epoch_seconds"]) == 5
    assert capsys.readouterr().out.count("s/epoch") == 5


def test_example_configs_are_valid():
    from chainrule.cli.config import load

    digits = load(EXAMPLES / "configs" / "digits_mlp.toml")
    assert digits["data"]["name"] == "digits" and digits["model"]["layers"] == [128, 64]
    fashion = load(EXAMPLES / "configs" / "fashion_mnist_mlp.toml")
    assert fashion["data"]["name"] == "fashion_mnist" and fashion["model"]["layers"] == [256, 128]
