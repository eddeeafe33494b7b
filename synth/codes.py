"""The generator's integer codes and time frame. Age bands, statuses and labels are the codes of
`graph.model` (`AgeBand`, `AccountStatus`, `ContentLabel`); content kinds, label sources and the
node kinds of link rows are the generator's own vocabulary (free text in the ingest format)."""

from __future__ import annotations

import logging

import numpy as np

from graph.model import AccountStatus, AgeBand, ContentLabel, NodeKind

logger = logging.getLogger(__name__)

YEAR_START = 1735689600  # 2025-01-01T00:00:00Z
YEAR_END = 1767225600  # 2026-01-01T00:00:00Z
ACCOUNTS_FROM = 1546300800  # 2019-01-01T00:00:00Z: accounts exist before the year of activity
DAY = 86400

MINOR, ADULT, UNKNOWN = AgeBand.MINOR.code, AgeBand.ADULT.code, AgeBand.UNKNOWN.code
ACTIVE = AccountStatus.ACTIVE.code
#: status by the index of the draw (96% active, 3% suspended, 1% deleted)
STATUS_BY_DRAW = np.array([m.code for m in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.DELETED)])
NO_LABEL, CHILD, ABUSIVE = ContentLabel.NONE.code, ContentLabel.CHILD_ORIENTED.code, ContentLabel.ABUSIVE.code

KINDS = ("post", "video", "image", "story", "live", "comment", "group")
POST, VIDEO, IMAGE, STORY, LIVE, COMMENT, GROUP = range(7)
SOURCES = ("classifier:v3", "human_review", "hashlist:ncmec")
CLASSIFIER, HUMAN, HASHLIST = range(3)
#: node kinds of link rows by the generator's index (ACC, CON, URL, TAG)
NODE_KINDS = (NodeKind.ACCOUNT, NodeKind.CONTENT, NodeKind.URL, NodeKind.HASHTAG)
ACC, CON, URL, TAG = range(4)
