"""Where data files live and how they are fetched: the cache directory, ``$CHAINRULE_DATA``, and
downloads verified by SHA-256.

- ``cache_dir()``: ``$XDG_CACHE_HOME/chainrule``, else ``~/.cache/chainrule``.
- ``$CHAINRULE_DATA``: a directory with one folder per data set (``$CHAINRULE_DATA/fashion-mnist/...``).
- ``$CHAINRULE_DATA_MIRROR``: a base URL laid out the same way, used instead of the official
  locations (``file://`` URLs work, for machines without a network).
"""

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataFileError

DATA_ENV = "CHAINRULE_DATA"
MIRROR_ENV = "CHAINRULE_DATA_MIRROR"
_CHUNK = 1 << 20


def cache_dir():
    """The user's cache directory for chainrule's data: ``$XDG_CACHE_HOME/chainrule`` or ``~/.cache/chainrule``."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: a relative value is invalid and ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chainrule"


def data_dir():
    """``$CHAINRULE_DATA`` as a Path, or None when it is not set."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else None


def sha256_of(path):
    """The SHA-256 of the file at ``path``, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(url, destination, sha256, timeout=60):
    """Fetch ``url`` into ``destination``, checking its SHA-256 against ``sha256``; returns the Path.

    The bytes go to ``destination + '.part'`` first and are renamed only once the checksum
    matches; on a mismatch the partial file is deleted and ``DataFileError`` says so. Network and
    file errors (``OSError``, including ``urllib.error.URLError``) pass through.

    Example::

        >>> download_file("file:///srv/mirror/t10k-labels-idx1-ubyte.gz", tmp / "labels.gz", sha256=SUM)
        PosixPath('.../labels.gz')
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    found = digest.hexdigest()
    if found != sha256:
        partial.unlink(missing_ok=True)
        raise DataFileError(
            f"{url}: SHA-256 mismatch: expected {sha256}, got {found}; the partial download {partial} was deleted"
        )
    os.replace(partial, destination)
    return destination


def join_url(base, name):
    return base.rstrip("/") + "/" + name


def fetch_all(files, mirrors, folder):
    """Download every ``name -> sha256`` of ``files`` from the first mirror that serves them all into
    ``folder``. Returns ``(True, [])`` on success, else ``(False, reasons)`` with one line per failure."""
    reasons = []
    for base in mirrors:
        try:
            for name, sha256 in files.items():
                url = join_url(base, name)
                print(f"chainrule: downloading {url} -> {folder / name}", file=sys.stderr)
                download_file(url, folder / name, sha256)
            return True, []
        except (OSError, DataFileError, ValueError) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            reasons.append(f"{join_url(base, name)}: {reason}")
    return False, reasons
