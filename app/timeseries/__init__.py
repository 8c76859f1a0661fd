"""KServe's time-series forecast protocol (`/v1/timeseries/...`), beside v1 and v2."""
