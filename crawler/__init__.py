"""The Scrapy project: settings, outlet declarations, spiders and the WARC capture middleware."""
