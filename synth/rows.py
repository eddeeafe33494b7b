"""The rows being generated, as integer arrays (accounts by index, content by index in order of
creation, hashtags by vocabulary index); strings are made once, when the tables are assembled."""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from synth.codes import NO_LABEL

logger = logging.getLogger(__name__)

#: the content columns, each an array over content indices
CONTENT_COLUMNS = ("author", "ts", "kind", "parent", "label", "source", "conf")


@dataclass(frozen=True)
class LinkBlock:
    """Links of one kind between one kind of source and one kind of target (generator node
    codes ACC/CON/URL/TAG); `dst` is indices, or URL strings when the target is a URL."""

    src_kind: int
    src: np.ndarray
    dst_kind: int
    dst: np.ndarray | pa.Array
    kind: str
    ts: np.ndarray


@dataclass(frozen=True)
class UrlLink:
    """A link to a URL written after every other link (invite URLs: few rows, kept as strings)."""

    src_kind: int
    src: int
    url: str
    ts: int


class Rows:
    """Accumulates content, link and follow rows. Content indices are handed out in order of
    `add_content`; links keep the order of `add_links` calls; follows are de-duplicated later,
    so their order does not matter."""

    def __init__(self) -> None:
        self.content: list[dict[str, np.ndarray]] = []
        self.n_content = 0
        self._starts: list[int] = []
        self.links: list[LinkBlock] = []
        self.url_links: list[UrlLink] = []
        self.follows: list[tuple[np.ndarray, np.ndarray]] = []
        self.unlinked: list[np.ndarray] = []

    def add_content(
        self,
        author: np.ndarray | list[int],
        ts: np.ndarray | list[int],
        kind: np.ndarray | int,
        parent: np.ndarray | int = -1,
        label: np.ndarray | int = NO_LABEL,
        source: np.ndarray | int = -1,
        conf: np.ndarray | float = np.nan,
    ) -> np.ndarray:
        """Add content items (scalars are broadcast); returns their content indices."""
        author = np.asarray(author, dtype=np.int64)
        m = len(author)

        def col(v: np.ndarray | list[int] | float, dt: type[np.generic]) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=dt), (m,)).copy()

        self.content.append(
            {
                "author": author,
                "ts": col(ts, np.int64),
                "kind": col(kind, np.int8),
                "parent": col(parent, np.int64),
                "label": col(label, np.int8),
                "source": col(source, np.int8),
                "conf": col(conf, np.float64),
            }
        )
        self._starts.append(self.n_content)
        idx = np.arange(self.n_content, self.n_content + m, dtype=np.int64)
        self.n_content += m
        return idx

    def relabel(self, item: int, label: int, source: int, conf: float) -> None:
        """Change the label of one content item already added."""
        chunk = bisect.bisect_right(self._starts, item) - 1
        while len(self.content[chunk]["author"]) == 0:  # empty chunks share their start
            chunk -= 1
        at = item - self._starts[chunk]
        self.content[chunk]["label"][at] = label
        self.content[chunk]["source"][at] = source
        self.content[chunk]["conf"][at] = conf

    def add_links(
        self,
        src_kind: int,
        src: np.ndarray,
        dst_kind: int,
        dst: np.ndarray | pa.Array | list[int],
        kind: str,
        ts: np.ndarray,
    ) -> None:
        src = np.asarray(src, dtype=np.int64)
        if len(src):
            dst_ = dst if isinstance(dst, np.ndarray | pa.Array) else np.asarray(dst)
            self.links.append(LinkBlock(src_kind, src, dst_kind, dst_, kind, np.asarray(ts, dtype=np.int64)))

    def add_url_link(self, src_kind: int, src: int, url: str, ts: int) -> None:
        """A link to `url`, written after all others (contents' `url` links, then accounts' `bio`)."""
        self.url_links.append(UrlLink(src_kind, src, url, ts))

    def add_follows(self, src: np.ndarray, dst: np.ndarray) -> None:
        self.follows.append((np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)))

    def keep_unlinked(self, accounts: np.ndarray) -> None:
        """No follow between two of `accounts` survives into the follows table."""
        self.unlinked.append(np.asarray(accounts, dtype=np.int64))

    def column(self, name: str) -> np.ndarray:
        """One content column over every content index."""
        return np.concatenate([c[name] for c in self.content])

    def take_content(self) -> dict[str, np.ndarray]:
        """Every content column over every content index; the rows give them up (memory)."""
        out = {}
        for name in CONTENT_COLUMNS:
            out[name] = self.column(name)
            for chunk in self.content:
                del chunk[name]
        self.content.clear()
        return out
