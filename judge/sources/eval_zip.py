"""Reading Inspect's `.eval` archives: ZIP files whose members are Zstandard-compressed (method 93).

Python's zipfile (before 3.14) lists such members but cannot decompress them, so the ZIP directory is
read with zipfile and each member's raw bytes are decompressed with the `zstandard` package; sizes and
CRC-32 are checked, so a truncated or damaged archive is reported, never half-read.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from judge.errors import UserInputError

ZSTD_METHOD = 93
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIG = 0x04034B50


class EvalArchive:
    """An open `.eval` file: member names and their decoded JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh: BinaryIO = path.open("rb")
            self._zip = zipfile.ZipFile(self._fh)
        except FileNotFoundError:
            raise UserInputError("file not found", file=path) from None
        except (zipfile.BadZipFile, OSError) as e:
            raise UserInputError(f"not a readable .eval archive (truncated or damaged ZIP: {e})", file=path) from None
        self.names = [i.filename for i in self._zip.infolist()]

    def close(self) -> None:
        self._zip.close()
        self._fh.close()

    def __enter__(self) -> EvalArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, name: str) -> bytes:
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise UserInputError(f"the .eval archive has no member {name!r}", file=self.path) from None
        if info.compress_type != ZSTD_METHOD:
            try:
                return self._zip.read(name)
            except (zipfile.BadZipFile, NotImplementedError, OSError, zlib.error) as e:
                raise UserInputError(f"member {name!r} cannot be read: {e}", file=self.path) from None
        data = self._decompress(info, self._raw(info))
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise UserInputError(f"member {name!r} is damaged (size or CRC mismatch)", file=self.path)
        return data

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        self._fh.seek(info.header_offset)
        header = self._fh.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or _LOCAL_HEADER.unpack(header)[0] != _LOCAL_SIG:
            raise UserInputError(f"member {info.filename!r} has no valid local header", file=self.path)
        name_len, extra_len = _LOCAL_HEADER.unpack(header)[9:11]
        self._fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
        raw = self._fh.read(info.compress_size)
        if len(raw) != info.compress_size:
            raise UserInputError(f"member {info.filename!r} is truncated", file=self.path)
        return raw

    def _decompress(self, info: zipfile.ZipInfo, raw: bytes) -> bytes:
        import zstandard

        try:
            dobj = zstandard.ZstdDecompressor().decompressobj()
            return dobj.decompress(raw) + dobj.flush()
        except zstandard.ZstdError as e:
            raise UserInputError(f"member {info.filename!r} is not valid Zstandard data: {e}", file=self.path) from None

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserInputError(f"member {name!r} is not valid JSON: {e}", file=self.path) from None
