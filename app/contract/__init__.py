"""What training and serving share: the preprocessing contract, the manifest, scores and the
model directory format. NumPy and pydantic only: no web framework, no TensorFlow."""
