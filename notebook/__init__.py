"""notebook/: the analyst's library face: runs, results and neighbourhoods as pandas DataFrames."""

from notebook.frames import RunFrames
from notebook.session import Notebook, open_runs, open_store

__all__ = ["Notebook", "RunFrames", "open_runs", "open_store"]
