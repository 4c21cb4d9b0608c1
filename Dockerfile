# The crawler image: scheduler and one-off crawls (`docker compose run --rm scheduler scrapy crawl orda`).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml scrapy.cfg README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY crawler ./crawler
COPY pipelines ./pipelines
COPY deploy ./deploy
RUN pip install --no-cache-dir --no-deps -e .
ENV ARCHIVE_SPOOL_DIR=/spool
VOLUME ["/spool"]
CMD ["python", "-m", "pipelines", "schedule", "--config", "/app/deploy/schedule.toml"]
