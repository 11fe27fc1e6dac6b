"""Reading a file the user gives: what a broken or foreign file raises, and its message in one line.
Stdlib only (the compiler, the reference and sps share it)."""
from __future__ import annotations

import tokenize
import zipfile
import zlib

# what np.load and reading an archive's members raise for a file that is not a readable array or
# archive: EOFError for an empty file, SyntaxError / TokenError for a garbled .npy header,
# BadZipFile / zlib.error for a truncated or corrupt .npz, MemoryError for a header that claims an
# array larger than memory (a member of an .npz is allocated before it is read)
READ_ERRORS = (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile, zlib.error,
               MemoryError)


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
