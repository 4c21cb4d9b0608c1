"""Item pipelines (extract, clean, archive), the WARC and storage layers, and the commands."""
