# trainscope: one image for the server (dashboard, REST, websockets, Ray head) and for the
# Ray worker nodes that train. The base image decides CPU or CUDA (docs/deploy.md):
#
#   CPU (the default; torch's CPU wheels, a small image):
#     docker build -t trainscope .
#
#   CUDA (a PyTorch runtime image: torch with CUDA 12.4 and cuDNN 9 already installed,
#   Python 3.11; any pytorch/pytorch *-runtime tag with Python >= 3.10 and torch >= 2.3 works):
#     docker build -t trainscope:cuda \
#       --build-arg BASE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime .
#
#   Any Debian or Ubuntu image with python3 and python3-venv works as a CPU base too (the
#   deployment test builds one with debootstrap: tests/deploy/base_image.sh).
#
# docker-compose.yml builds the CUDA variant, docker-compose.cpu.yml the CPU one
# (TRAINSCOPE_BASE_IMAGE overrides either). It needs BuildKit (the default builder since
# Docker 23; DOCKER_BUILDKIT=1 before that) for the cache and bind mounts below.
#
# docker/local/ (empty in git) is for machines behind a TLS-intercepting proxy or without the
# torch index: a ca-certificates.crt there is pip's CA bundle during the build (never copied
# into the image), and a torch-*.whl there is installed instead of the index's torch.

ARG BASE=python:3.11-slim
FROM ${BASE}

# Optional dependencies from pyproject.toml: `ray` (the Ray executor and worker nodes) and
# `postgres` (psycopg, for TRAINSCOPE_DATABASE_URL=postgresql+psycopg://...). Empty: neither.
ARG EXTRAS=ray,postgres
# Where torch comes from when the base image has none: the CPU wheels. A bare `pip install
# torch` would pull PyPI's CUDA build, gigabytes that a CPU image cannot use.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# The uid and gid that own /data: match the owner of a bind-mounted or NFS data directory.
ARG UID=1000
ARG GID=1000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TRAINSCOPE_DATA_DIR=/data \
    RAY_USAGE_STATS_ENABLED=0

# A virtual environment, not the system Python: Debian's python3 refuses `pip install`
# (PEP 668), and Debian has no `python` command. --system-site-packages: a PyTorch base image's
# own torch stays visible. Its bin/ comes first on PATH, so `python`, `trainscope` and `ray`
# are the environment's.
ENV PATH=/opt/trainscope/bin:$PATH
RUN python3 -m venv --system-site-packages /opt/trainscope

# torch first, in its own layer: it is most of the image and changes least. pip's cache is a
# BuildKit cache mount, kept by the builder between builds and never part of the image.
RUN --mount=type=bind,source=docker/local,target=/tmp/local \
    --mount=type=cache,target=/root/.cache/pip \
    if [ -f /tmp/local/ca-certificates.crt ]; then export PIP_CERT=/tmp/local/ca-certificates.crt; fi \
    && unset PIP_NO_CACHE_DIR \
    && if python -c "import torch" 2>/dev/null; then exit 0; fi \
    && set -- /tmp/local/torch-*.whl \
    && if [ -f "$1" ]; then pip install "$1"; \
       else pip install --index-url "$TORCH_INDEX_URL" torch; fi

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY backend ./backend
COPY frontend ./frontend
# A regular (not editable) install: the sources are not needed afterwards.
RUN --mount=type=bind,source=docker/local,target=/tmp/local \
    --mount=type=cache,target=/root/.cache/pip \
    if [ -f /tmp/local/ca-certificates.crt ]; then export PIP_CERT=/tmp/local/ca-certificates.crt; fi \
    && unset PIP_NO_CACHE_DIR \
    && if [ -n "$EXTRAS" ]; then target=".[$EXTRAS]"; else target="."; fi \
    && pip install "$target" \
    && trainscope --help >/dev/null \
    && cd / && rm -rf /src

COPY docker/entrypoint.sh /usr/local/bin/trainscope-entrypoint
RUN chmod 0755 /usr/local/bin/trainscope-entrypoint \
    && groupadd --gid "$GID" trainscope \
    && useradd --uid "$UID" --gid "$GID" --create-home --shell /bin/sh trainscope \
    && mkdir -p /data \
    && chown trainscope:trainscope /data

# Never root: training code reads uploaded files and writes checkpoints.
USER trainscope
WORKDIR /home/trainscope

# The database (SQLite), uploads, checkpoints and artefacts. A named volume created from this
# image starts owned by the trainscope user.
VOLUME ["/data"]

# The dashboard, REST API and websockets. (A Ray head in this container also listens on 6379
# and 8265; they are not exposed here: Ray has no authentication, see docs/deploy.md.)
EXPOSE 8000

# /api/health needs no token. Plain Python, since slim images have no curl. With
# TRAINSCOPE_ALLOWED_HOSTS set, include 127.0.0.1 in it or this check is refused.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]

# The entry point starts a Ray head first when TRAINSCOPE_RAY_HEAD=1, then runs the command.
ENTRYPOINT ["/usr/local/bin/trainscope-entrypoint"]
CMD ["trainscope", "serve", "--host", "0.0.0.0", "--port", "8000"]
