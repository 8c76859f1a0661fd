"""The Open Inference Protocol (KServe V2) over REST: its types, tensor codec and routes."""
