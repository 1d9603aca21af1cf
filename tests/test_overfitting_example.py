"""examples/overfitting.py: the plain MLP on 250 digits overfits more than its regularised
variants, and early stopping stops early. The expectations come from what each remedy is for (a
smaller train-validation gap, an earlier stop), with margins far wider than run-to-run noise."""

import importlib.util
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "overfitting.py"


def load_example():
    spec = importlib.util.spec_from_file_location("example_overfitting", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_model_and_the_splits():
    pytest.importorskip("sklearn")
    example = load_example()
    train, validation, test = example.load_splits()
    assert (len(train), len(validation), len(test)) == (250, 773, 774)
    assert train.tensors[0].shape == (250, 64)
    assert sum(p.numel() for p in example.make_model().parameters()) == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    dropouts = [
        m for m in example.make_model(dropout=0.5, input_dropout=0.2).modules() if type(m).__name__ == "Dropout"
    ]
    assert [m.p for m in dropouts] == [0.2, 0.5, 0.5]
    with pytest.raises(ValueError, match="unknown variant 'L3'"):
        example.train_variant("L3", (train, validation, test), epochs=1)


@pytest.mark.slow
def test_regularisation_shrinks_the_gap_and_early_stopping_stops_early(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    example = load_example()
    results = example.main(out=str(tmp_path), quick=True)
    plain = results["plain"]
    assert plain.final["train_accuracy"] == 1.0 and plain.final["train_loss"] < 0.01  # memorised
    assert plain.final["val_loss"] > min(plain.curves["val_loss"]) + 0.05  # and the validation loss rose again
    for name in ("L2", "L1", "dropout", "early stopping"):
        assert results[name].loss_gap < plain.loss_gap - 0.05, name
        assert results[name].final["val_loss"] < plain.final["val_loss"] - 0.03, name
    stopping = results["early stopping"]
    assert stopping.stopped_epoch is not None and stopping.stopped_epoch < 40
    assert stopping.epochs_run == stopping.stopped_epoch
    # the restored weights are those of the best epoch: the final validation loss is its minimum
    assert stopping.final["val_loss"] == pytest.approx(min(stopping.curves["val_loss"]), rel=1e-6)
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["variant", "train", "acc"] and "early stopping" in out
    png = tmp_path / "overfitting.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
