"""`python -m app`: serve the forecast service (see `app.serve`)."""

from app.serve import main

if __name__ == "__main__":
    raise SystemExit(main())
