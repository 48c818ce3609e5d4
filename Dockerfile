# syntax=docker/dockerfile:1.7
#
# The controller image: `docker build -t ghcr.io/cloudservice-operator/controller:0.1.0 .`
#
# Two stages on the same pinned base: `build` turns the project and every dependency into
# wheels; the final stage installs those wheels into a venv, offline, and carries neither the
# source tree, nor the wheels, nor a compiler. Pin the base by digest too when you publish
# (python:3.11.13-slim-bookworm@sha256:...), so a rebuild is the same image.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
# Our wheel plus a wheel of every dependency (all of them publish manylinux wheels, so nothing
# is compiled: the slim base has no compiler, and a dependency that needed one fails here).
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# The wheels are bind-mounted, not copied: they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels cloudservice-operator \
 && groupadd --system --gid 65532 controller \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin controller
# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd; the same uid/gid
# as deploy/base/deployment.yaml. The root filesystem is read-only there: /tmp is a volume.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 9090
ENTRYPOINT ["cloudservice-operator"]
CMD ["run", "--all-namespaces", "--liveness", "http://0.0.0.0:8080/healthz", "--metrics-port", "9090", "--log-format", "json"]
