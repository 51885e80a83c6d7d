"""`--dist loadgroup` for pytest-xdist under pytest 9: a test's `xdist_group` mark names its unit of work.

xdist 3.8 groups by renaming each item's node id ("...@group"), which pytest 9's structured node ids
ignore, so every test became a unit of its own (module fixtures built on every worker, Elasticsearch
tests on both). Here the workers write each grouped test's group to a file the controller named in
the environment before it started them, and the controller's scheduler reads it: a test of no group
is in its module's unit, as with `--dist loadfile`. Only the public hooks of xdist are used.

On a clean clone one worker embeds the seed reports (a minute with the real model) while any other that
asks for them waits on the lock: so while the shared vector cache is not there yet and another worker
holds a unit of `seeds`-marked tests, a worker is given the next unit without such tests instead.
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


def next_unit(queue: list[str], waiting: set[str], held_elsewhere: bool) -> str | None:
    """The unit to give a worker: the queue's first, but while another worker holds one of the `waiting`
    units (they wait for one shared cache), the first that is not one of them (the first when all are)."""
    if not queue:
        return None
    if held_elsewhere:
        return next((unit for unit in queue if unit not in waiting), queue[0])
    return queue[0]


class GroupScheduling(LoadScopeScheduling):
    """Units of work: a test's group where the workers said it has one, else its module."""

    def __init__(self, config, log=None, ready: Path | None = None) -> None:
        super().__init__(config, log)
        self.groups: dict[str, str] = {}
        self.waiting: set[str] = set()  # the units with a test marked `seeds`
        self.ready = ready  # the cache those tests wait for; while it is missing, other units go first

    def schedule(self) -> None:
        if self.collection is None:  # the first call: every worker has written its file before it reported
            self.groups, seeds = {}, set()
            for path in Path(os.environ[GROUPS_DIR]).glob("*.json"):
                share = json.loads(path.read_text(encoding="utf-8"))
                self.groups.update(share["groups"])
                seeds.update(share["seeds"])
            self.waiting = {unit_of(nodeid, self.groups) for nodeid in seeds}
        super().schedule()

    def _assign_work_unit(self, node) -> None:
        held = self.ready is not None and not self.ready.exists() and any(
            scope in self.waiting and not all(done.values())
            for other, work in self.assigned_work.items() if other is not node for scope, done in work.items())
        unit = next_unit(list(self.workqueue), self.waiting, held)
        if unit is not None:
            self.workqueue.move_to_end(unit, last=False)
        super()._assign_work_unit(node)

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid, self.groups)


class Controller:
    """The plugin of the process that starts the workers."""

    def __init__(self, ready: Path | None = None) -> None:
        self.ready = ready
        self.folder = tempfile.mkdtemp(prefix="xdist-groups-")
        os.environ[GROUPS_DIR] = self.folder
        # One hash seed for every worker: a test id that showed a set or a dict view in hash order would read
        # differently in each, and xdist would refuse to run ("Different tests were collected").
        # (test_region_filters, which once did, now sorts its sets; this guards the next one.)
        os.environ.setdefault("PYTHONHASHSEED", str(random.randrange(1, 2**32)))

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        return GroupScheduling(config, log, self.ready) if config.getvalue("dist") == "loadgroup" else None

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        os.environ.pop(GROUPS_DIR, None)


class Worker:
    """The plugin of a worker: it tells the controller the groups of the tests it collected, and which
    are marked `seeds`."""

    @pytest.hookimpl(tryfirst=True)  # before xdist sends the collection to the controller
    def pytest_collection_finish(self, session) -> None:
        groups = {item.nodeid: name for item in session.items if (name := group_of(item))}
        seeds = [item.nodeid for item in session.items if item.get_closest_marker("seeds")]
        path = Path(os.environ[GROUPS_DIR]) / f"{os.environ['PYTEST_XDIST_WORKER']}.json"
        path.write_text(json.dumps({"groups": groups, "seeds": seeds}, ensure_ascii=False), encoding="utf-8")


def register(config, ready: Path | None = None) -> None:
    """Add the plugin this process needs: the controller's under `-n N` (`ready`: the cache the `seeds`
    tests wait for), a worker's in a worker."""
    if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get(GROUPS_DIR):
        config.pluginmanager.register(Worker(), "tests-xdist-groups")
    elif getattr(config.option, "numprocesses", None) and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(Controller(ready), "tests-xdist-groups")
