"""`python -m app`: serve the forecast service (see `app.serve`)."""

import os

# One BLAS thread per worker: the service's matrices are tiny, so extra OpenBLAS
# threads only contend with the server's own threads, and they ignore container
# CPU limits (a large batch ran several times slower unpinned on 2 busy cores: BENCHMARKS.md).
# It must be set before NumPy loads OpenBLAS; an explicit setting still wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from app.serve import main  # after the environment is set

if __name__ == "__main__":
    raise SystemExit(main())
