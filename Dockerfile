# A small, non-root image. Build: docker build -t tollgate .
# Migrate as a separate job (it fails loudly): docker run --rm -e DATABASE_URL=... tollgate python manage.py migrate
# Serve:                                       docker run -p 4000:4000 -e DATABASE_URL=... -e REDIS_URL=... tollgate
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY gatewaysite ./gatewaysite
COPY apps ./apps
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TOLLGATE_VAR_DIR=/var/lib/tollgate TOLLGATE_PRODUCTION=1 \
    TOLLGATE_CONFIG=/app/examples/config.yaml PORT=4000
RUN useradd --system --uid 10001 --home /app tollgate && mkdir -p /var/lib/tollgate && chown tollgate /var/lib/tollgate
COPY --from=build /install /usr/local
WORKDIR /app
COPY manage.py ./
COPY gatewaysite ./gatewaysite
COPY apps ./apps
COPY templates ./templates
COPY static ./static
COPY examples ./examples
USER tollgate
EXPOSE 4000
STOPSIGNAL SIGTERM
CMD ["python", "manage.py", "serve"]
