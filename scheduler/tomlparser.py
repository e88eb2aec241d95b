"""The TOML parser: `tomli` when installed (its wheels are compiled with mypyc and parse a
national config about 2.5 times faster than the standard library), else `tomllib`, the
same parser in pure Python (tomllib is tomli 2.0 vendored into Python 3.11).

Both accept the same TOML 1.0 and raise `TOMLDecodeError` with the same
"... (at line N, column M)" messages, which `scheduler.tomlfile` turns into file:line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import tomli as _parser
except ImportError:  # pragma: no cover - tomli is a dependency; tomllib is the fallback
    import tomllib as _parser  # type: ignore[no-redef]

TOMLDecodeError: type[ValueError] = _parser.TOMLDecodeError
parse_toml: Callable[[str], dict[str, Any]] = _parser.loads
