"""publish/: a run's results written into (and removed from) the Neo4j graph, for Cypher clients."""

from publish.rows import PublishRows, publish_rows
from publish.writer import PublishReport, UnpublishReport, publish_run, unpublish_run

__all__ = ["PublishReport", "PublishRows", "UnpublishReport", "publish_rows", "publish_run", "unpublish_run"]
