"""Development tools, not used by a production crawl: the fixture mirror server (demo, tests, benches)."""
