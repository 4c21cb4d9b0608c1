# The crawler image: `docker run IMAGE scrapy crawl <outlet>`; ARCHIVE_URI and AWS_* come from the environment.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml scrapy.cfg README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY crawler ./crawler
COPY pipelines ./pipelines
RUN pip install --no-cache-dir --no-deps -e .
ENV ARCHIVE_SPOOL_DIR=/spool
VOLUME ["/spool"]
CMD ["scrapy", "list"]
