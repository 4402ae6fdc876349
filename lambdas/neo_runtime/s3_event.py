"""The submission a workflow execution is about, read from its EventBridge S3 event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neo_runtime import naming


@dataclass(frozen=True)
class SubmittedObject:
    """One version of an uploaded manifest object."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None

    @property
    def identity(self) -> str:
        """What makes this upload unique: its version id, or its ETag in an unversioned bucket."""
        return self.version_id or self.etag or ""

    @property
    def run_id(self) -> str:
        """The run this upload starts: derived from bucket, key and identity, so redeliveries map to it."""
        return naming.run_id(self.bucket, self.key, self.identity)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> SubmittedObject:
        """Parse an ``Object Created`` event as EventBridge delivers it from S3.

        The key is used verbatim. S3's own notification format URL-encodes keys; whether the
        EventBridge format does for keys with spaces, '+' or '%' is still to be verified
        (the watched keys ``<prefix><model>/recommend.json`` normally contain none).
        """
        try:
            detail = event["detail"]
            bucket = detail["bucket"]["name"]
            obj = detail["object"]
            key = obj["key"]
        except (KeyError, TypeError):
            raise ValueError("the execution input is not an S3 'Object Created' event from EventBridge") from None
        return cls(bucket=bucket, key=key, version_id=obj.get("version-id"), etag=obj.get("etag") or obj.get("eTag"))
