"""The NumPy engine: runs the network saved in `model.keras` without TensorFlow."""
