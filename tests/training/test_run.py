"""One training run (`training.run`) end to end on a synthetic seasonal series, with a tiny,
fast model: the version it writes (layout, manifest, hashes), what it prints, its atomic
write, and its proof that the service serves what Keras computes. Not accuracy."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from trainkit import N_POINTS, train_cli, write_series

from app.contract.intervals import CALIBRATION_FILE
from app.contract.series import HISTORIES_FILE, SERIES_FILE
from app.contract.store import (
    MANIFEST_FILE,
    MODEL_FILE,
    REPORT_FILE,
    SCALER_FILE,
    read_version,
    sha256_file,
)
from training.datafile import TRAINING_DATA_FILE

# Keras' TensorFlow backend calls np.array on tensors in a way NumPy 2 deprecates; not ours.


def test_writes_a_complete_verified_version(trained: tuple[Path, Path, str]) -> None:
    _, version_dir, _ = trained
    files = {MODEL_FILE, SCALER_FILE, MANIFEST_FILE, REPORT_FILE, CALIBRATION_FILE}
    files |= {SERIES_FILE, HISTORIES_FILE, TRAINING_DATA_FILE}
    assert {p.name for p in version_dir.iterdir()} == files
    assert [p.name for p in version_dir.parent.iterdir()] == ["1"]  # no temp dir left
    verified = read_version(version_dir)  # validates the schema and every sha256
    manifest = verified.manifest
    assert (manifest.name, manifest.version) == ("synthetic-sales", 1)
    for name, digest in manifest.files.items():
        assert sha256_file(version_dir / name) == digest
    assert set(manifest.files) == files - {MANIFEST_FILE, TRAINING_DATA_FILE}  # serving's files
    assert (version_dir / REPORT_FILE).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_manifest_describes_data_split_and_metrics(trained: tuple[Path, Path, str]) -> None:
    csv, version_dir, _ = trained
    m = read_version(version_dir).manifest
    values = pd.read_csv(csv)["Sales"].to_numpy()
    train_points = int(N_POINTS * (1 - 0.33))
    assert (m.data.n_points, m.data.train_points, m.data.test_points) == (
        N_POINTS,
        train_points,
        N_POINTS - train_points,
    )
    assert (m.data.first_period, m.data.last_period) == ("2000-01", "2007-12")
    assert m.data.train_min == values[:train_points].min()
    assert m.data.train_max == values[:train_points].max()
    assert m.metrics.test.n == N_POINTS - train_points
    assert m.pipeline.look_back == 6 and m.training.preset == "default"  # half a season
    assert 1 <= m.training.epochs_run <= m.training.epochs == 3
    scores = [m.metrics.train, m.metrics.test]
    numbers = [getattr(s, f) for s in scores for f in ("rmse", "mae", "mape", "mase")]
    numbers += [b.rmse for b in m.metrics.baselines.values()]
    assert all(x is not None and math.isfinite(x) and x >= 0 for x in numbers)
    assert set(m.metrics.baselines) == {"persistence", "seasonal_naive", "pipeline_alone"}
    choice = m.training.network
    assert choice is not None and m.pipeline.kind == "seasonal"
    assert 0 <= choice.weight == m.pipeline.network_weight <= 1 and choice.points > 0
    assert set(m.libraries) == {"python", "tensorflow", "keras", "scikit-learn", "numpy"}
    assert m.architecture.parameters > 0 and m.architecture.layers[0].kind == "LSTM"


def test_prints_the_weight_then_the_posts_score_lines_then_baselines_then_the_path(
    trained: tuple[Path, Path, str],
) -> None:
    _, version_dir, out = trained
    m = read_version(version_dir).manifest
    choice = m.training.network
    assert choice is not None
    assert out.splitlines() == [
        f"Network weight: {choice.weight:.2f} (validation RMSE inside the training part:"
        f" pipeline alone {choice.rmse_alone:.4g}, whole network {choice.rmse_network:.4g},"
        f" chosen {choice.rmse_chosen:.4g})",
        f"Train Score: {m.metrics.train.rmse:.2f} RMSE",
        f"Test Score: {m.metrics.test.rmse:.2f} RMSE",
        f"Persistence: {m.metrics.baselines['persistence'].rmse:.2f} RMSE",
        f"Seasonal naive: {m.metrics.baselines['seasonal_naive'].rmse:.2f} RMSE",
        f"Pipeline alone: {m.metrics.baselines['pipeline_alone'].rmse:.2f} RMSE",
        str(version_dir),
    ]


@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_interrupted_write_leaves_no_version(
    failure: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = write_series(tmp_path / "sales.csv")

    def broken_plot(path: Path, *args: object) -> None:
        path.write_bytes(b"half a png")
        raise failure

    monkeypatch.setattr("training.run.plot", broken_plot)
    with pytest.raises(type(failure)):
        train_cli(csv, tmp_path / "models")
    assert list((tmp_path / "models" / "sales").iterdir()) == []


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Train a tiny model that must fail the serving check; return the one line it printed."""
    csv = write_series(tmp_path / "s.csv")
    code, _ = train_cli(csv, tmp_path / "models", "--name", "refused")
    assert code == 2
    assert not (tmp_path / "models" / "refused").exists() or not list(
        (tmp_path / "models" / "refused").iterdir()
    )  # nothing published, no temporary directory left
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_a_model_the_service_cannot_load_fails_at_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    def gru_model(look_back: int, units: tuple[int, ...], learning_rate: float) -> keras.Model:
        model = keras.Sequential(
            [keras.Input((look_back, 1)), keras.layers.GRU(2), keras.layers.Dense(1)]
        )
        model.compile(optimizer="adam", loss="mse")
        return model

    monkeypatch.setattr("training.fit.build_model", gru_model)
    line = _refused(tmp_path, capsys)
    assert "the trained model cannot be served" in line and "of type GRU" in line


def test_a_model_the_engine_computes_differently_fails_at_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.forecaster import Forecaster

    real = Forecaster.forecast
    monkeypatch.setattr(
        Forecaster, "forecast", lambda self, h, n, s=None: real(self, h, n, s) + 0.01
    )
    line = _refused(tmp_path, capsys)
    assert "the served forecasts differ from Keras' by up to 0.01" in line
