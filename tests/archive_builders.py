"""Archives built in the tests: good ones per framework, and hostile ones."""

from __future__ import annotations

import gzip
import io
import tarfile

from neo_recommender import samples

NPY = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }" + b" " * 40


def tar_gz(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    """A .tar.gz of (name, content) files and raw TarInfo entries (links, FIFOs, folders)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, content = member
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def entry(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    """A non-file tar entry: tarfile.SYMTYPE, LNKTYPE, DIRTYPE, FIFOTYPE, CHRTYPE."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def plain_tar(name: str, content: bytes) -> bytes:
    """An uncompressed tar (SageMaker needs gzip)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def bomb(expanded_bytes: int = 400 * 1024 * 1024) -> bytes:
    """A small .tar.gz that expands to ``expanded_bytes`` of zeros."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as compressed, \
            tarfile.open(fileobj=compressed, mode="w") as archive:
        info = tarfile.TarInfo("weights.bin")
        info.size = expanded_bytes
        archive.addfile(info, _Zeros(expanded_bytes))
    return buffer.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self.left)
        buffer[:size] = bytes(size)
        self.left -= size
        return size


GOOD_MODELS = {
    "XGBOOST": samples.xgboost_model_archive(),
    "PYTORCH": tar_gz(("model.pth", b"PK\x03\x04 torchscript archive"), ("code/inference.py", b"# handler\n")),
    "TENSORFLOW": tar_gz(entry("1", tarfile.DIRTYPE), ("1/saved_model.pb", b"\x08\x01"),
                         ("1/variables/variables.index", b"idx"), ("1/variables/variables.data-00000-of-00001", b"d")),
    "MXNET": tar_gz(("resnet50-symbol.json", b"{}"), ("resnet50-0000.params", b"params")),
    "ONNX": tar_gz(("model.onnx", b"\x08\x07onnx")),
    "KERAS": tar_gz(("model.h5", b"\x89HDF\r\n\x1a\n")),
}
GOOD_PAYLOADS = {
    "XGBOOST": samples.csv_payload_archive(),
    "PYTORCH": tar_gz(("input.npy", NPY)),
    "TENSORFLOW": tar_gz(("input.json", b'{"instances": [[[[0.0, 0.0, 0.0]]]]}')),
    "MXNET": tar_gz(("input.npy", NPY)),
    "ONNX": tar_gz(("input.npy", NPY)),
    "KERAS": tar_gz(("input.json", b'{"instances": [[0.5]]}')),
}
