"""Read a ``.tar.gz`` safely: list its members without extracting anything.

Archives come from users, so they are hostile until proven otherwise. The reader
decompresses with its own budget (a tar bomb is stopped by its compression ratio, not
by running out of memory), reads at most a given number of compressed bytes (the
workflow inspects the head of a large model instead of downloading it), caps the number
of members, and keeps at most a small head of each file's content for the content checks.
Nothing is written to disk.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import tarfile

_CHUNK = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class ArchiveUnreadable(Exception):
    """The bytes are not a gzip-compressed tar we are willing to read; the message says why."""


@dataclass(frozen=True)
class ReadLimits:
    """How much of an archive to read."""

    max_compressed_bytes: int | None = None
    """Stop after this many compressed bytes (``None``: read it all)."""
    max_members: int = 10_000
    max_ratio: int = 200
    """Decompressed/compressed ratio that marks a tar bomb, once past ``ratio_floor`` bytes."""
    ratio_floor: int = 64 * 1024 * 1024
    max_decompressed_bytes: int | None = 16 * 1024 * 1024 * 1024
    content_head_bytes: int = 0
    """Keep this many leading bytes of each regular file (0: keep none)."""
    max_content_members: int = 100


@dataclass(frozen=True)
class Member:
    """One entry of the tar."""

    name: str
    kind: str  # "file", "directory", "symlink", "hardlink" or "special"
    size: int
    link_target: str = ""
    head: bytes = b""

    @property
    def basename(self) -> str:
        """The last path segment."""
        return self.name.rstrip("/").rpartition("/")[2]


@dataclass
class Listing:
    """What was read of an archive."""

    members: list[Member] = field(default_factory=list)
    complete: bool = True
    """False when the read stopped at ``max_compressed_bytes`` before the end."""
    compressed_bytes_read: int = 0

    @property
    def files(self) -> list[Member]:
        """Regular files only."""
        return [member for member in self.members if member.kind == "file"]


def read_listing(stream: BinaryIO, limits: ReadLimits) -> Listing:
    """List the members of the ``.tar.gz`` in ``stream``; raise ``ArchiveUnreadable`` when it is not one."""
    import tarfile  # noqa: PLC0415 - boto3 does not load it, and only reading an archive needs it

    head = stream.read(512)
    _check_magic(head)
    gunzip = _BoundedGunzip(stream, head, limits)
    listing = Listing()
    try:
        with tarfile.open(fileobj=io.BufferedReader(gunzip, _CHUNK), mode="r|") as archive:
            for info in archive:
                if len(listing.members) >= limits.max_members:
                    raise ArchiveUnreadable(f"has more than {limits.max_members} members")
                listing.members.append(_member(archive, info, limits, len(listing.files)))
    except tarfile.ReadError as error:
        if not gunzip.truncated:
            if gunzip.decompressed == 0:
                raise ArchiveUnreadable("is an empty archive") from None
            if not listing.members:
                raise ArchiveUnreadable("is gzip-compressed but not a tar archive") from None
            raise ArchiveUnreadable(f"is a damaged tar archive ({error})") from None
        listing.complete = False
    except EOFError:
        if not gunzip.truncated:
            raise ArchiveUnreadable("ends in the middle of a file (the upload is truncated)") from None
        listing.complete = False
    if gunzip.truncated:
        listing.complete = False
    listing.compressed_bytes_read = gunzip.compressed_read
    return listing


def _check_magic(head: bytes) -> None:
    if not head:
        raise ArchiveUnreadable("is empty")
    if head.startswith(_GZIP_MAGIC):
        return
    if head.startswith(b"PK\x03\x04"):
        raise ArchiveUnreadable("is a zip file; SageMaker needs a gzip-compressed tar (.tar.gz)")
    if head[257:262] == b"ustar":
        raise ArchiveUnreadable("is an uncompressed tar; SageMaker needs it gzip-compressed (.tar.gz)")
    raise ArchiveUnreadable("is not gzip-compressed (it does not start with the gzip signature)")


def _member(archive: tarfile.TarFile, info: tarfile.TarInfo, limits: ReadLimits, files_so_far: int) -> Member:
    if info.isfile():
        head = b""
        if limits.content_head_bytes and files_so_far < limits.max_content_members:
            extracted = archive.extractfile(info)
            head = extracted.read(limits.content_head_bytes) if extracted else b""
        return Member(info.name, "file", info.size, head=head)
    if info.isdir():
        return Member(info.name, "directory", 0)
    if info.issym():
        return Member(info.name, "symlink", 0, link_target=info.linkname)
    if info.islnk():
        return Member(info.name, "hardlink", 0, link_target=info.linkname)
    return Member(info.name, "special", 0)


class _BoundedGunzip(io.RawIOBase):
    """A gzip decompressor over a stream, with read, size and ratio limits."""

    def __init__(self, source: BinaryIO, head: bytes, limits: ReadLimits) -> None:
        self._source = source
        self._limits = limits
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._unread = head
        self.compressed_read = 0
        self.decompressed = 0
        self.truncated = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = self._inflate_more()
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _read_compressed(self) -> bytes:
        if self._unread:
            chunk, self._unread = self._unread, b""
        else:
            budget = self._limits.max_compressed_bytes
            size = _CHUNK if budget is None else min(_CHUNK, budget - self.compressed_read)
            if size <= 0:
                self.truncated = True
                return b""
            chunk = self._source.read(size)
        self.compressed_read += len(chunk)
        return chunk

    def _inflate_more(self) -> bytes:
        try:
            return self._inflate()
        except zlib.error as error:
            raise ArchiveUnreadable(f"is not valid gzip data ({error})") from None

    def _inflate(self) -> bytes:
        while True:
            if self._inflater.unconsumed_tail:
                data = self._inflater.decompress(self._inflater.unconsumed_tail, _CHUNK)
            elif self._inflater.eof:
                leftover = self._inflater.unused_data or self._read_compressed()
                if not leftover.strip(b"\0"):
                    return b""  # the end, possibly with zero padding
                self._inflater = zlib.decompressobj(wbits=31)  # a concatenated gzip member
                data = self._inflater.decompress(leftover, _CHUNK)
            else:
                chunk = self._read_compressed()
                if not chunk:
                    if self.truncated:
                        return b""
                    raise ArchiveUnreadable("ends early: the gzip stream is truncated")
                data = self._inflater.decompress(chunk, _CHUNK)
            if data:
                self._count(len(data))
                return data

    def _count(self, size: int) -> None:
        self.decompressed += size
        limits = self._limits
        if limits.max_decompressed_bytes is not None and self.decompressed > limits.max_decompressed_bytes:
            raise ArchiveUnreadable(f"expands to more than {limits.max_decompressed_bytes} bytes")
        if self.decompressed > limits.ratio_floor and self.decompressed > limits.max_ratio * max(
                self.compressed_read, 1):
            raise ArchiveUnreadable(
                f"expands more than {limits.max_ratio}x ({self.compressed_read} bytes to over "
                f"{self.decompressed}): it looks like a decompression bomb")
