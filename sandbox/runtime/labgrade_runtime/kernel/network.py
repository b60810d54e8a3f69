"""No network in the sandbox: known course downloads are answered from the course
files, everything else ends with a clear ``needs network: <url>`` status.

* ``socket.getaddrinfo`` refuses every host but the loopback, so any library
  that tries to download (urllib, requests, Keras ``get_file``, tfds, kaggle)
  fails at once with ``LabgradeNeedsNetwork`` instead of hanging or printing
  an obscure resolver error;
* ``datafiles.fetch(url)`` maps the URL of a course file (by its last path
  component, through the same names, aliases and derived formats as a local
  read) to the local course file, for ``pd.read_csv``,
  ``urllib.request.urlretrieve`` and ``!wget``.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from typing import Any

from labgrade_runtime.errors import LabgradeNeedsNetwork
from labgrade_runtime.kernel.datafiles import fetch

_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0", "ip6-localhost"}
_ORIG: dict[str, Callable[..., Any]] = {}


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    text = host.decode() if isinstance(host, bytes) else host
    if text in _LOCAL_HOSTS or (isinstance(text, str) and text.startswith("127.")):
        return _ORIG["getaddrinfo"](host, *args, **kwargs)
    raise LabgradeNeedsNetwork(f"a connection to {text}")


def _urlretrieve(url: str, filename: Any = None, *args: Any, **kwargs: Any) -> Any:
    source = fetch(str(url))
    if filename is None:
        return source, None
    shutil.copyfile(source, filename)
    return str(filename), None


def install() -> None:
    """Guard the resolver and answer urlretrieve from the course files."""
    if "getaddrinfo" in _ORIG:
        return
    _ORIG["getaddrinfo"] = socket.getaddrinfo
    socket.getaddrinfo = _getaddrinfo
    import urllib.request

    urllib.request.urlretrieve = _urlretrieve
