# The splants-dagster code location: a gRPC code server that the Dagster webserver and daemon load
# definitions from, and that launches runs. Build: docker build -t splants-dagster:latest .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    SPLANTS_DATA_DIR=/data

WORKDIR /opt/splants
# exactly the versions in uv.lock, hashes checked (docs/dependencies.md): the runtime set plus the `serve`
# extra (docker-compose runs the webserver from this image) and `celery` (SPLANTS_EXECUTOR=celery); no dev
# tools. uv only exports the lock and is removed again; this layer is rebuilt only when the lock changes.
ARG UV_VERSION=0.13.9
COPY pyproject.toml uv.lock ./
RUN pip install uv==${UV_VERSION} \
    && uv export --locked --no-emit-project --extra serve --extra celery \
        --format requirements.txt --output-file /tmp/requirements.txt \
    && pip install --require-hashes --no-deps -r /tmp/requirements.txt \
    && pip uninstall --yes uv \
    && rm /tmp/requirements.txt
COPY README.md ./
COPY splants_dagster ./splants_dagster
# editable: load_from_defs_folder finds the project through the pyproject.toml beside the package, which a
# copy in site-packages lacks (the `splants` command and any working directory then load the same tree)
RUN pip install --no-deps -e . \
    && pip check \
    && python -c "from splants_dagster.qa.flesch import ensure_cmudict; ensure_cmudict()" \
    && mkdir -p "$DAGSTER_HOME" /data \
    && useradd --create-home --uid 10001 splants \
    && chown -R splants "$DAGSTER_HOME" /data
# the production instance (PostgreSQL via DAGSTER_POSTGRES_URL); the webserver and daemon use the same file
COPY deploy/dagster.production.yaml /opt/dagster/dagster_home/dagster.yaml
# demo inputs: replace by mounting your own data directory at /data
COPY data/brand.yaml data/models.yaml /data/
COPY data/campaigns /data/campaigns
COPY data/sources /data/sources

USER splants
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "splants_dagster.definitions"]
