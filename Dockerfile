# The crumbgraph API (and CLI) image; docker-compose.yml runs it as `crumbgraph serve` next to Neo4j.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package needs (no tests, no .neo4j jars, no local data).
COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY graph ./graph
COPY detectors ./detectors
COPY evidence ./evidence
COPY casework ./casework
COPY api ./api
COPY ops ./ops
COPY synth ./synth
COPY publish ./publish
COPY notebook ./notebook
# No chromium in this image: case reports in evidence packages are report.html only (CRUMBGRAPH_CHROMIUM)
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin crumbgraph \
    && mkdir -p /data && chown crumbgraph:crumbgraph /data
USER crumbgraph
WORKDIR /data
VOLUME ["/data"]

ENV CRUMBGRAPH_API_HOST=0.0.0.0 \
    CRUMBGRAPH_STATE_DIR=/data/state \
    CRUMBGRAPH_RUNS_DIR=/data/runs
EXPOSE 8000
CMD ["crumbgraph", "serve"]
