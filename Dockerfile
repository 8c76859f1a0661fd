# Forecast service image: FastAPI + uvicorn, serving dependencies and models/ only.
#
#   docker build -t lstm-forecast .
#   docker run --rm -p 8000:8000 lstm-forecast
#
# Two stages: the builder makes a virtualenv at /opt/venv from the hash-pinned
# requirements.lock (regenerate with `make lock`); the runtime stage copies that
# venv, app/ and models/ and nothing else: no TensorFlow (the `train` extra), no
# compilers, no pip caches, no tests, no training code. Both stages start from the
# same base so the venv's interpreter symlink resolves in the runtime stage
# (python is /usr/local/bin in the official image, /usr/bin in the CI stand-in:
# everything here calls it by name).

FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /build
COPY requirements.lock pyproject.toml ./

# Wheels only (none needs a compiler), every file checked against
# the lock's sha256. Then: fail the build if pyproject.toml asks for something the
# lock does not provide (a dependency added without `make lock`): with --no-index,
# pip can only succeed when every requirement is already satisfied in the venv.
RUN pip install --require-hashes --only-binary=:all: -r requirements.lock \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/serving-deps.txt \
 && { pip install --no-index --dry-run --quiet -r /tmp/serving-deps.txt \
      || { echo 'requirements.lock lacks a dependency of pyproject.toml: run `make lock`' >&2; exit 1; }; } \
 && pip check

# The LSTM layer's compiled kernel (app/engine/kernel.c), built here with setup.py's flags
# (one copy per x86-64 level, chosen at load), for the runtime stage to copy beside its
# loader: the runtime stage has no compiler. binutils' strip is for the next step.
COPY app/engine/kernel.c ./
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends binutils gcc libc6-dev >/dev/null \
 && mkdir kernel \
 && gcc -O3 -fno-trapping-math -fPIC -shared -s -o "kernel/_kernel$(python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')" kernel.c

# Trim the venv (it is most of the image). Never used when serving: the test
# suite of NumPy; NumPy's build-time parts (distutils, f2py, C headers,
# static libs, the SIMD test module, type stubs); Swagger UI's source maps and
# ES-module bundles (/docs loads swagger-ui-bundle.js); pip and setuptools.
# Debug symbols are stripped from the extension modules but not from the wheels'
# vendored *.libs (auditwheel/patchelf-edited ELF files that `strip` corrupts);
# binutils stays in this stage.
# Byte-code is compiled here, once, hash-based and unchecked (valid whatever the
# files' mtimes after COPY): the runtime root filesystem is read-only, so a stale
# .pyc would mean compiling every imported module in memory at each start.
# Last, the build fails if a training-only package (TensorFlow, Keras,
# scikit-learn, SciPy, ...) got in.
RUN site=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])") \
 && find "$site/numpy" -depth -type d -name tests -exec rm -rf {} + \
 && rm -rf "$site/numpy/distutils" "$site/numpy/f2py" "$site/numpy/_core/include" \
        "$site/numpy/_core/lib" "$site"/numpy/_core/_simd.*.so /opt/venv/bin/f2py \
        /opt/venv/bin/numpy-config \
 && find "$site/numpy" -name '*.pyi' -delete \
 && find "$site/swagger_ui_bundle" \( -name '*.map' -o -name '*-es-bundle*' \) -delete \
 && find "$site" -name '*.so' -type f -not -path '*.libs/*' -exec strip --strip-unneeded {} + \
 && python -m pip uninstall --yes --quiet pip setuptools \
 && rm -f /opt/venv/bin/pip* \
 && python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash "$site" \
 && python -c "import numpy, joblib, httptools, fastapi, swagger_ui_bundle" \
 && python -c "import importlib.util as u, sys; bad = [m for m in ('tensorflow', 'keras', 'sklearn', 'scipy', 'pandas', 'matplotlib', 'torch', 'h5py') if u.find_spec(m)]; sys.exit(f'training-only packages in the serving image: {bad}' if bad else 0)"


FROM python:3.11-slim AS runtime

# Fixed, non-root UID/GID so Kubernetes' runAsUser/fsGroup and mounted volumes can
# rely on it (deploy/kubernetes/deployment.yaml uses 10001).
ARG APP_UID=10001
RUN groupadd --system --gid "$APP_UID" forecast \
 && useradd --system --uid "$APP_UID" --gid forecast --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin forecast

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEB_CONCURRENCY=1 \
    FORECAST_HOST=0.0.0.0 \
    FORECAST_PORT=8000 \
    FORECAST_MODEL_DIR=/srv/models \
    FORECAST_DATA_DIR=/var/lib/forecast

COPY --from=builder /opt/venv /opt/venv

# Code and models belong to root and are only readable by the service user.
WORKDIR /srv
COPY app/ ./app/
COPY --from=builder /build/kernel/ ./app/engine/
COPY models/ ./models/
RUN test -n "$(ls -A /srv/models)" \
        || { echo 'models/ is empty: train or check out the committed models first' >&2; exit 1; } \
 && chmod -R a+rX,go-w /srv \
 && python -m compileall -q --invalidation-mode checked-hash /srv/app \
 && python -c "import app.main" \
 && python -c "import sys; from app.engine import layers; sys.exit(0 if layers.KERNEL else 'the compiled kernel is ' + layers.ENGINE)" \
 && install -d -o "$APP_UID" -g "$APP_UID" -m 0700 /var/lib/forecast

USER ${APP_UID}:${APP_UID}
EXPOSE 8000

# Liveness with the standard library only (there is no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/health' % os.environ.get('FORECAST_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]

# `python -m app` (app/serve.py) runs uvicorn the production way: host, port,
# log level and the graceful-shutdown deadline (FORECAST_SHUTDOWN_SECONDS) from
# the FORECAST_* settings, WEB_CONCURRENCY workers (with multiprocess metrics in
# a fresh directory under /tmp), JSON logs, exit 0 after a clean SIGTERM.
# Exec form: Python is PID 1 and receives SIGTERM itself (no shell in between).
CMD ["python", "-m", "app"]
