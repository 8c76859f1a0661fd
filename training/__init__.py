"""Offline training: load a monthly series, fit the Keras LSTM, write a model directory."""
