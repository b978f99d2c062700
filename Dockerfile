# Podium in a container: gunicorn with the production settings, the model store and the users
# file on volumes. Build: docker build -t podium .   Run: see README.md ("Docker").
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app

# Requirements first: this layer is rebuilt only when the pins change, not on every code edit.
COPY requirements.txt ./
RUN python -m pip install --no-cache-dir -r requirements.txt

# An unprivileged user owns only what it must write: the model store and the instance folder.
RUN groupadd --system --gid 10001 podium \
    && useradd --system --uid 10001 --gid podium --home-dir /app --no-create-home podium \
    && mkdir -p /app/model_store /app/instance \
    && chown podium:podium /app/model_store /app/instance

COPY --chown=root:root . .
RUN chmod 0755 scripts/docker-entrypoint

USER 10001:10001

# Listen on every interface inside the container; publish the port with -p.
ENV PODIUM_BIND=0.0.0.0:8000 \
    PODIUM_MODEL_STORE=/app/model_store
EXPOSE 8000

# Models (and demo models trained on first start) and users/secret key survive the container.
VOLUME ["/app/model_store", "/app/instance"]

# The slim image has no curl: ask the readiness probe with Python. A start period covers the
# demo training on the very first start (about a minute) and the model loading on every start.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]

# gunicorn as PID 1's child via exec: SIGTERM from `docker stop` reaches it for a graceful stop.
ENTRYPOINT ["scripts/docker-entrypoint"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
