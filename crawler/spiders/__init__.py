"""One spider per outlet module, generated from the registry: ``scrapy crawl <outlet>``.

Adding an outlet module under ``pipelines/outlets/`` adds its spider; there is nothing to edit here.
"""

from __future__ import annotations

from pipelines.outlets import all_outlets
from crawler.spiders.outlet import OutletSpider


def _spider_class(name: str) -> type[OutletSpider]:
    outlet = all_outlets()[name]
    return type(
        f"{name.title().replace('_', '')}Spider",
        (OutletSpider,),
        {"name": name, "outlet_name": name, "__module__": __name__, "__doc__": f"{outlet.title} ({outlet.country})."},
    )


globals().update({cls.__name__: cls for cls in map(_spider_class, all_outlets())})
