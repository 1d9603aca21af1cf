"""Text corpora as sequences of characters, for character-level language models.

- ``TextCorpus(text)``: any text; its vocabulary (the distinct characters, sorted), the text as
  int64 codes, ``encode`` / ``decode`` and the entropy of its character frequencies (what a model
  that knows only how often each character occurs would pay per character).
- ``JargonFile()``: the Jargon File 4.4.7, Eric S. Raymond's public-domain lexicon of hacker slang
  (1.6 million characters of English prose), from the plain-text copy that Debian's
  ``jargon-text`` package installs. Looked up in this order:

  1. ``root`` if given: the file itself, or ``root/jargon/`` or ``root`` holding it;
  2. ``$CHAINRULE_DATA/jargon/``;
  3. the operating system's packaged copy: /usr/share/doc/jargon-text/ (``apt install jargon-text``).

  The file is ``jargon.txt`` or ``jargon.txt.gz``. Found nowhere, one ``FileNotFoundError`` lists
  every place searched and every way to provide it; a file that is not gzip or UTF-8 text is a
  ``DataFileError`` naming it.

Example::

    >>> corpus = cr.datasets.JargonFile()
    >>> len(corpus), corpus.vocab_size               # characters, distinct characters
    (1618757, 155)
    >>> corpus.codes.shape, corpus.decode(corpus.encode("hack"))
    ((1618757,), 'hack')
    >>> round(corpus.unigram_entropy(), 2)           # bits per character
    4.7
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from . import download as _download

__all__ = ["JargonFile", "TextCorpus"]


class TextCorpus:
    """A text as characters: ``text`` (str), ``chars`` (its distinct characters, sorted),
    ``codes`` (int64 (N,), each character's index in ``chars``), ``encode`` and ``decode``.

    Example::

        >>> corpus = TextCorpus("abracadabra")
        >>> corpus.chars, corpus.codes[:4]
        (['a', 'b', 'c', 'd', 'r'], array([0, 1, 4, 0]))
        >>> corpus.decode([3, 0]), round(corpus.unigram_entropy(), 3)
        ('da', 2.04)
    """

    def __init__(self, text, name=None):
        if not isinstance(text, str):
            raise TypeError(f"TextCorpus: expected the text as a str, got {type(text).__name__}")
        if not text:
            raise ValueError("TextCorpus: the text is empty; expected at least one character")
        self.name = name or type(self).__name__
        self.text = text
        points = _code_points(text)
        unique, self.codes = np.unique(points, return_inverse=True)
        self.codes = self.codes.astype(np.int64).reshape(-1)
        self._points = unique  # sorted code points: chars[i] is chr(_points[i])
        self.chars = [chr(p) for p in unique]

    def __len__(self):
        return len(self.text)

    @property
    def vocab_size(self):
        """How many distinct characters the text holds."""
        return len(self.chars)

    def encode(self, text):
        """A str -> int64 codes (len(text),); a character the corpus lacks is a ValueError naming it."""
        points = _code_points(text)
        codes = np.searchsorted(self._points, points)
        unknown = (codes >= len(self._points)) | (self._points[np.minimum(codes, len(self._points) - 1)] != points)
        if unknown.any():
            missing = sorted({text[i] for i in np.flatnonzero(unknown)})
            raise ValueError(f"{self.name}: the characters {missing!r} do not occur in the corpus")
        return codes.astype(np.int64)

    def decode(self, codes):
        """Codes (any ints in [0, vocab_size), a list, array or Tensor) -> the str they spell."""
        codes = np.asarray(codes).reshape(-1)
        if codes.size and (codes.min() < 0 or codes.max() >= self.vocab_size):
            raise ValueError(f"{self.name}: codes must be in [0, {self.vocab_size}), got {codes.min()}..{codes.max()}")
        return "".join(self.chars[int(code)] for code in codes)

    def frequencies(self):
        """How often each character occurs, float64 (vocab_size,), summing to 1."""
        return np.bincount(self.codes, minlength=self.vocab_size) / len(self.codes)

    def unigram_entropy(self, base=2):
        """-sum p log p over the character frequencies: bits (base 2) or nats (base e) per character.

        A model that predicts every character from these frequencies alone has this loss; a
        language model that learned anything about words must go well below it.
        """
        p = self.frequencies()
        return float(-(p * np.log(p)).sum() / np.log(base))

    def __repr__(self):
        return f"{type(self).__name__}(characters={len(self)}, vocab_size={self.vocab_size})"


def _code_points(text):
    """A str -> its Unicode code points, int64 (len(text),), in one pass through an encoder."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


class JargonFile(TextCorpus):
    """The Jargon File 4.4.7 as a :class:`TextCorpus` (see the module docstring for where it is
    looked up). ``root``: a directory holding jargon.txt(.gz), or the file itself. ``.path`` is
    the file that was read.

    Example::

        >>> corpus = JargonFile()                     # /usr/share/doc/jargon-text/jargon.txt.gz
        >>> corpus.text[:48].strip()
        'The Jargon File'
    """

    folder = "jargon"
    file_names = ("jargon.txt", "jargon.txt.gz")
    system_dirs = ("/usr/share/doc/jargon-text",)
    apt_package = "jargon-text"

    def __init__(self, root=None):
        self.root = Path(root).expanduser() if root is not None else None
        self.path = self._locate()
        super().__init__(_read_text(self.path), name=type(self).__name__)

    def _places(self):
        """(description, [candidate files]) in lookup order."""
        places = []
        if self.root is not None:
            directories = [self.root / self.folder, self.root]
            files = [self.root] if self.root.is_file() else []
            places.append((f"root={self.root}", files + [d / n for d in directories for n in self.file_names]))
        env = _download.data_dir()
        if env is not None:
            places.append((f"${_download.DATA_ENV}={env}", [env / self.folder / n for n in self.file_names]))
        places.append(("the system's packaged copy", [Path(d) / n for d in self.system_dirs for n in self.file_names]))
        return places

    def _locate(self):
        searched = []
        for description, files in self._places():
            for path in files:
                if path.is_file():
                    return path
            searched.append(f"  - {description}: " + ", ".join(str(f) for f in files))
        name = type(self).__name__
        ways = [
            f"  - install the system's copy: apt install {self.apt_package} (Debian, Ubuntu)",
            f"  - pass root=DIR, with {' or '.join(self.file_names)} in DIR or DIR/{self.folder}, or root=FILE",
            f"  - set ${_download.DATA_ENV}=DIR, with the file in DIR/{self.folder}",
        ]
        raise FileNotFoundError(
            "\n".join(
                [f"{name}: cannot find {' or '.join(self.file_names)}. Looked in:"]
                + searched
                + ["Ways to provide it:"]
                + ways
            )
        )


def _read_text(path):
    """The UTF-8 text of ``path`` (gunzipped when it is gzip); a broken file is a DataFileError."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataFileError(f"{path}: not a readable gzip file ({error})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    if not text.strip():
        raise DataFileError(f"{path}: the file holds no text")
    return text
