# -*- coding: utf-8 -*-
# Copyright: prodready engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitogen for Ansible's linear strategy, with the list of installed collections read once per run and
workers that leave the objects they inherit to their parent."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Mitogen's mitogen_linear strategy, without its per-task scan of every installed collection
description:
  - Runs tasks host by host as Ansible's C(linear) strategy does, through Mitogen for Ansible
    (PyPI C(mitogen), which must be importable by the Python that runs C(ansible-playbook)).
    Each host keeps one connection and one Python interpreter for the run, instead of a new
    interpreter and module payload per task.
  - The same strategy as Mitogen's own C(mitogen_linear), with one change. Before each module
    from a collection runs, Mitogen lists every installed collection, reading each one's
    metadata (the C(ansible) package brings about 90). Ansible runs each task in a worker
    process forked for it, so nothing is remembered from one task to the next, and the listing
    cost about 0.12 s of controller CPU per task on a 2-core machine. Here the list is read
    once, in the controller's main process before the first task, and every worker inherits it.
    Collections cannot be installed in the middle of a run, so the list cannot go stale.
  - Each worker process that Ansible forks for a task moves every object it inherits from the
    controller's main process into Python's permanent generation (C(gc.freeze())) before the task
    runs. Its garbage collector then does not walk those objects, and does not write to the
    memory pages it shares with the main process (each write makes the kernel copy the page).
    Workers live for one task, so nothing they inherit needs collecting there; the main process
    is not changed.
  - Turn it on with C(strategy = prodready.vps.mitogen_linear) in C(ansible.cfg) or
    C(ANSIBLE_STRATEGY=prodready.vps.mitogen_linear); no C(strategy_plugins) path is needed.
    Without Mitogen installed the run stops with a message that says so.
version_added: 0.3.0
author: prodready engineers (@prodready)
"""

import functools
import gc

from ansible.errors import AnsibleError
from ansible.executor.process.worker import WorkerProcess
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategy

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.planner
    import ansible_mitogen.strategy
except ImportError as exc:      # the run stops in StrategyModule() with this reason
    MITOGEN_IMPORT_ERROR = exc
    BASES = (LinearStrategy,)
else:
    MITOGEN_IMPORT_ERROR = None
    BASES = (ansible_mitogen.strategy.StrategyMixin,
             ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True))


@functools.lru_cache(maxsize=None)
def collection_dirs():
    """Every installed collection's folder, read once per process (the main one, before forking)."""
    from ansible.collections.list import list_collection_dirs  # pylint: disable=import-outside-toplevel
    return tuple(to_text(path) for path in list_collection_dirs())


def _load_collections(invocation):
    """Mitogen's planner._load_collections: the same sys.path additions, from the list read once."""
    invocation._extra_sys_paths.update(collection_dirs())   # pylint: disable=protected-access


def _patch_planner():
    """Replace Mitogen's per-task listing when it is the function this plugin was written for."""
    original = getattr(ansible_mitogen.planner, "_load_collections", None)
    if original is not None and "list_collection_dirs" in original.__code__.co_names:
        ansible_mitogen.planner._load_collections = _load_collections   # pylint: disable=protected-access


def _frozen(run):
    """WorkerProcess._run that first leaves what the worker inherited out of its garbage collection."""
    @functools.wraps(run)
    def wrapper(self):
        gc.freeze()
        return run(self)
    wrapper.prodready_frozen = True
    return wrapper


class StrategyModule(*BASES):  # pylint: disable=too-few-public-methods
    """mitogen_linear (see DOCUMENTATION)."""

    def __init__(self, *args, **kwargs):
        if MITOGEN_IMPORT_ERROR is not None:
            raise AnsibleError("the strategy prodready.vps.mitogen_linear needs Mitogen for Ansible in the Python "
                               "that runs ansible-playbook (pip install mitogen): %s" % MITOGEN_IMPORT_ERROR)
        _patch_planner()
        collection_dirs()
        super().__init__(*args, **kwargs)

    def run(self, iterator, play_context, *args, **kwargs):
        """The play's tasks, in workers that freeze what they inherit (put back after the play). Only a
        speed-up: if Ansible's worker has no _run any more, the play runs as Mitogen's would."""
        original = getattr(WorkerProcess, "_run", None)
        if original is None or getattr(original, "prodready_frozen", False):
            return super().run(iterator, play_context, *args, **kwargs)
        WorkerProcess._run = _frozen(original)
        try:
            return super().run(iterator, play_context, *args, **kwargs)
        finally:
            WorkerProcess._run = original
