"""LSTM forecast service: serves forecasts from trained model directories without TensorFlow."""
