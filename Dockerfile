# One image, one console script per service: switchboard-{ingest,router,sla,notifier,analytics,console}
# (plus switchboard-admin for the topic-creation Job). Non-root, read-only-root-filesystem friendly:
# nothing is written outside /tmp (mount an emptyDir there).
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# The runtime closure only (tools/lock.py): no test runner, browser driver or linter in the image.
COPY requirements-runtime.lock ./
RUN python -m venv /opt/switchboard \
 && /opt/switchboard/bin/pip install -r requirements-runtime.lock
COPY pyproject.toml setup.py ./
COPY libs ./libs
COPY proto ./proto
COPY services ./services
# Test fixtures and fakes (switchboard.common.testing) are dev-only; benchmarks live outside the packages.
RUN rm -rf libs/common/testing \
 && /opt/switchboard/bin/pip install --no-deps . \
 && /opt/switchboard/bin/python -m compileall -q /opt/switchboard

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="Kafka-native customer-service backbone" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin switchboard
COPY --from=build /opt/switchboard /opt/switchboard
COPY config/default /etc/switchboard/config
ENV PATH=/opt/switchboard/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SWITCHBOARD_CONFIG_DIR=/etc/switchboard/config \
    TMPDIR=/tmp
USER 10001:10001
EXPOSE 8080
# The Helm chart sets the command per service, e.g. ["switchboard-router"].
CMD ["switchboard-ingest"]
