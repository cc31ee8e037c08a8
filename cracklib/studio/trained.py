"""Models trained on the Train page: where they are written, how a session keeps them through page switches
and reloads, and the sweep of old ones.

A trained model belongs to the session that trained it. It is kept in the
session's state and named in the page's address (``?trained=FOLDER/NAME``: the
random folder name, never a server path), which is what a reload keeps. The
address is written again on every page run, since switching pages with the
sidebar empties it. Nothing lists the temp folder for other sessions: a model is
offered only to whoever holds its address.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import streamlit as st

from cracklib.nets.models import checked_model_name

__all__ = ["TRAINED_PREFIX", "TRAINED_TTL_S", "remember_trained", "trained_models", "sweep_trained",
           "training_output"]

#: Where the Train page writes models: one fresh folder per run under the temp folder.
TRAINED_PREFIX = "cracklib_trained_"

#: A trained model's folder is removed this long after its last use (a page run of a session offering it).
TRAINED_TTL_S = 24 * 3600

#: The session state key of the trained models' paths, and the address's parameter that names them.
_SESSION_KEY, _ADDRESS_KEY = "trained_weights", "trained"

_TOKEN = re.compile(rf"{TRAINED_PREFIX}[A-Za-z0-9_]+/[A-Za-z0-9_-]{{1,64}}")


def _token(path: Path) -> str:
    """How the address names a trained model: its folder and file stem, no server path."""
    return f"{path.parent.name}/{path.stem}"


def _from_address() -> list[str]:
    """The trained models named in the address that still exist; anything else in it is ignored."""
    found = []
    for token in st.query_params.get_all(_ADDRESS_KEY):
        if _TOKEN.fullmatch(token):
            path = Path(tempfile.gettempdir()) / f"{token}.pt"
            if path.is_file():
                found.append(str(path))
    return found


def remember_trained(path: str | Path) -> None:
    """Offer a model trained on the Train page in every page's model list, also after a page switch or a reload.

    Parameters
    ----------
    path : str or Path
        The weights file (``NAME.pt`` in a folder made by :func:`training_output`).
    """
    known = st.session_state.setdefault(_SESSION_KEY, [])
    if str(path) not in known:
        known.append(str(path))
    trained_models()


def trained_models() -> list[str]:
    """The weights of the models this session trained that still exist, oldest first.

    Those remembered in the session and those named in the address (a reload
    starts a new session with only the address) are merged into the session,
    and all are written back into the address, which a page switch empties.
    Their folders are marked as used now, so :func:`sweep_trained` keeps them.
    Every page calls this on each run (through the sidebar, or itself).

    Returns
    -------
    list of str
        The weights files' paths.
    """
    paths = [path for path in dict.fromkeys([*st.session_state.get(_SESSION_KEY, []), *_from_address()])
             if Path(path).is_file()]  # a model swept by its age is no longer offered
    st.session_state[_SESSION_KEY] = paths
    tokens = [_token(Path(path)) for path in paths]
    if st.query_params.get_all(_ADDRESS_KEY) != tokens:
        if tokens:
            st.query_params[_ADDRESS_KEY] = tokens
        else:
            del st.query_params[_ADDRESS_KEY]  # only names that are not this session's models were there
    for path in paths:
        with suppress(FileNotFoundError):  # swept since (another session's sweep, after a day unused)
            os.utime(Path(path).parent)
    return paths


def sweep_trained(*, keep: Iterable[str | Path] = (), now: float | None = None) -> list[Path]:
    """Remove the trained models' folders unused for :data:`TRAINED_TTL_S`, never one in ``keep``.

    Streamlit tells the app nothing when a session ends, so the temp folder is
    swept whenever a model is trained instead (as :func:`cracklib.studio.sweep_uploads`
    does for zips).

    Parameters
    ----------
    keep : iterable of str or Path
        Folders in use (the session's own models), kept whatever their age.
    now : float, optional
        The time to measure ages from (seconds since the epoch); by default now.

    Returns
    -------
    list of Path
        The removed folders.
    """
    now = time.time() if now is None else now
    kept = {Path(folder).resolve() for folder in keep}
    removed = [folder for folder in Path(tempfile.gettempdir()).glob(f"{TRAINED_PREFIX}*")
               if folder.is_dir() and not folder.is_symlink() and folder.resolve() not in kept
               and now - folder.stat().st_mtime > TRAINED_TTL_S]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


@contextmanager
def training_output(name: str) -> Iterator[Path]:
    """Where a training run writes the model ``name``: ``NAME.pt`` in a fresh folder under the temp folder.

    The name is checked before any folder is made, and old trained folders are
    swept (never this session's). If the run fails, or is stopped, its folder is
    removed: nothing half-written is left.

    Parameters
    ----------
    name : str
        The model's name (letters, digits, ``_``, ``-``).

    Yields
    ------
    Path
        The weights file to write.

    Raises
    ------
    CrackInputError
        A name that cannot name a file safely.
    """
    file_name = f"{checked_model_name(name)}.pt"
    sweep_trained(keep=[Path(path).parent for path in st.session_state.get(_SESSION_KEY, [])])
    folder = Path(tempfile.mkdtemp(prefix=TRAINED_PREFIX))
    try:
        yield folder / file_name
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
