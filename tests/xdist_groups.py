"""`--dist loadgroup` for pytest-xdist under pytest 9: a test's `xdist_group` mark names its unit of work.

xdist 3.8 groups by renaming each item's node id ("...@group"), which pytest 9's structured node ids
ignore, so every test became a unit of its own (module fixtures built on every worker, Elasticsearch
tests on both). Here the workers write each grouped test's group to a file the controller named in
the environment before it started them, and the controller's scheduler reads it: a test of no group
is in its module's unit, as with `--dist loadfile`. Only the public hooks of xdist are used.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

GROUPS_DIR = "TESTS_XDIST_GROUPS"  # set by the controller, inherited by the workers it starts


def group_of(item: pytest.Item) -> str | None:
    """The item's `xdist_group` names, joined as xdist joins them (None without the mark)."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) or None


def unit_of(nodeid: str, groups: dict[str, str]) -> str:
    """A test's unit of work: its group, else its module (the node id's path)."""
    return groups.get(nodeid) or nodeid.split("::", 1)[0]


class GroupScheduling(LoadScopeScheduling):
    """Units of work: a test's group where the workers said it has one, else its module."""

    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self.groups: dict[str, str] = {}

    def schedule(self) -> None:
        if self.collection is None:  # the first call: every worker has written its file before it reported
            self.groups = {}
            for path in Path(os.environ[GROUPS_DIR]).glob("*.json"):
                self.groups.update(json.loads(path.read_text(encoding="utf-8")))
        super().schedule()

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid, self.groups)


class Controller:
    """The plugin of the process that starts the workers."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="xdist-groups-")
        os.environ[GROUPS_DIR] = self.folder
        # One hash seed for every worker: test ids that show a set (tests/contract/test_region_filters.py)
        # must read the same in each, or xdist refuses to run ("Different tests were collected").
        os.environ.setdefault("PYTHONHASHSEED", str(random.randrange(1, 2**32)))

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        return GroupScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        os.environ.pop(GROUPS_DIR, None)


class Worker:
    """The plugin of a worker: it tells the controller the groups of the tests it collected."""

    @pytest.hookimpl(tryfirst=True)  # before xdist sends the collection to the controller
    def pytest_collection_finish(self, session) -> None:
        groups = {item.nodeid: name for item in session.items if (name := group_of(item))}
        path = Path(os.environ[GROUPS_DIR]) / f"{os.environ['PYTEST_XDIST_WORKER']}.json"
        path.write_text(json.dumps(groups, ensure_ascii=False), encoding="utf-8")


def register(config) -> None:
    """Add the plugin this process needs: the controller's under `-n N`, a worker's in a worker."""
    if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get(GROUPS_DIR):
        config.pluginmanager.register(Worker(), "tests-xdist-groups")
    elif getattr(config.option, "numprocesses", None) and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(Controller(), "tests-xdist-groups")
