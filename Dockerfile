# tokensync operator image.
#
# Two stages: the build stage installs the package into a virtualenv the way the README does
# (`pip install -e '.[test]'`), but without the test extra and not editable (`pip install .`:
# an editable install would point at /src, which the final stage does not have); the final
# stage copies only that virtualenv onto a clean base image, so no pip cache, sources, test
# tools or build tools ship. The Helm chart relies on the settings at the end (numeric non-root
# user, ports, entrypoint); tests/runtime/test_dockerfile.py checks them, and this install.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/tokensync
ENV PATH=/opt/tokensync/bin:$PATH
WORKDIR /src
# Only what the package build reads (see .dockerignore).
COPY pyproject.toml README.md ./
COPY operator ./operator
# pip compiles every module to bytecode here, so nothing needs writing at runtime.
RUN pip install . \
    && tokensync --help > /dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="tokensync" \
      org.opencontainers.image.description="Keeps Alibaba Cloud credentials fresh in Kubernetes Secrets." \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/tokensync /opt/tokensync
# Read-only root filesystem: no .pyc writes, no caches, unbuffered logs straight to the kubelet.
ENV PATH=/opt/tokensync/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1
# 65532: the conventional "nonroot" UID/GID of distroless images; numeric so that the
# kubelet can enforce runAsNonRoot without a passwd entry.
USER 65532:65532
# --metrics-port (Prometheus /metrics) and --health-port (/healthz, /readyz) defaults.
EXPOSE 8080 8081
ENTRYPOINT ["tokensync"]
CMD ["run"]
