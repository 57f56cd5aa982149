"""The ledger client, the bottom layer: every entry point (CLI, bridge, API) imports it first.

`py_ecc` (loaded by `eth_account`) raises the interpreter's recursion limit to 100,000 when
it is first imported. Recursion that deep outruns the C stack, so deeply nested input killed
the process (SIGSEGV) instead of raising `RecursionError`. It is imported here and the limit
put back: to where it was, or to Python's default if `py_ecc` came in before this package.
"""

import sys

_PYTHON_DEFAULT_RECURSION_LIMIT = 1000

_recursion_limit = (
    _PYTHON_DEFAULT_RECURSION_LIMIT if "py_ecc" in sys.modules else sys.getrecursionlimit()
)
import py_ecc  # noqa: E402, F401  (imported for its side effect, undone on the next line)

sys.setrecursionlimit(_recursion_limit)
