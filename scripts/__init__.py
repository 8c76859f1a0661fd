"""Project scripts: `python -m scripts.<name>` from the project root; smoke.py as a path too."""
