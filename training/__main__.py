"""`python -m training` / `forecast-train`: the training command (see `training.cli`).

This module imports nothing of the training stack itself, so that a missing one
(training run from the serving environment, which has no TensorFlow, pandas or
scikit-learn) is one line saying what to install, not a traceback.
"""

import sys

HINT = (
    "forecast-train: error: training needs the `train` extra (TensorFlow, scikit-learn,"
    " pandas, matplotlib), and {missing} is not installed: run `make train DATA=...`, or"
    " `.venv/bin/pip install -e '.[train]'`"
)


def main() -> int:
    try:
        from training.cli import main as train
    except ModuleNotFoundError as exc:
        print(HINT.format(missing=exc.name), file=sys.stderr)
        return 2
    return train()


if __name__ == "__main__":
    sys.exit(main())
