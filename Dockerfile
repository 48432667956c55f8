# The image of every process of the stack (API, worker, beat, migrations): one release, several commands.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PCF_BRIGHTWAY_DIR=/opt/pcf/brightway
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/pcf/app
COPY pyproject.toml README.md ./
COPY pcr_rules ./pcr_rules
COPY lca_models ./lca_models
COPY label_service ./label_service
COPY footprint_api ./footprint_api
COPY examples ./examples
RUN pip install . \
 && pcf setup \
 && useradd --system --uid 10001 --home-dir /opt/pcf pcf \
 && mkdir -p /opt/pcf/var /run/pcf-keys /opt/pcf/backgrounds \
 && chown pcf /opt/pcf/var /run/pcf-keys /opt/pcf/backgrounds && chown -R pcf /opt/pcf/brightway

# The Brightway project of the factor set is built above, once per release; imported background databases are written
# beside it at run time by the worker (the volumes of docker-compose.yml keep both).
USER pcf
WORKDIR /opt/pcf/var
EXPOSE 8000
# `pcf serve` believes X-Forwarded-For/-Proto only from PCF_TRUSTED_PROXIES (default: from nobody).
CMD ["pcf", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
