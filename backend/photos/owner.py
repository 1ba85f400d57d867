"""Who a photo belongs to (pure: no I/O).

A photo has exactly one owner, and the owner decides its slot: a visit's photo of a kind, an
audit item's photo, or a rectification's after photo. A new upload to a slot replaces the photo
in it. The row's owner columns are exactly this value's fields (the ``one_owner`` CHECK holds
them to one shape), and the hash bands carry :attr:`PhotoOwner.owner_id` so that a photo is
never found as a duplicate of its own owner's photos.
"""

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from backend.models import Photo, PhotoKind

#: An item key lands in a storage key (``item-<key>``): letters, digits, ``_`` and ``-`` only.
_ITEM_KEY: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class OwnerKind(StrEnum):
    """The three kinds of photo owner; each has its own unique index on ``photos``."""

    visit = "visit"
    audit_item = "audit_item"
    after = "after"


@dataclass(frozen=True, slots=True)
class PhotoOwner:
    """One photo slot: build it with :meth:`visit`, :meth:`audit_item` or :meth:`after`.

    The fields are the row's owner columns (those of the other kinds of owner are ``None``).
    """

    visit_id: uuid.UUID | None = None
    kind: PhotoKind | None = None
    audit_id: uuid.UUID | None = None
    item_key: str | None = None
    rectification_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        # Refused here rather than by the CHECK, after the files are already written.
        shapes = (
            (self.visit_id, self.kind),
            (self.audit_id, self.item_key),
            (self.rectification_id,),
        )
        complete = [all(v is not None for v in shape) for shape in shapes]
        touched = [any(v is not None for v in shape) for shape in shapes]
        if sum(complete) != 1 or touched != complete:
            raise ValueError(f"a photo has exactly one owner: {self!r}")
        if self.item_key is not None and not _ITEM_KEY.fullmatch(self.item_key):
            raise ValueError(f"not a storable audit item key: {self.item_key!r}")

    @classmethod
    def visit(cls, visit_id: uuid.UUID, kind: PhotoKind) -> "PhotoOwner":
        """The visit's photo of ``kind`` (storefront, shelf or conversation)."""
        return cls(visit_id=visit_id, kind=kind)

    @classmethod
    def audit_item(cls, audit_id: uuid.UUID, item_key: str) -> "PhotoOwner":
        """The photo of the audit's checklist item ``item_key``."""
        return cls(audit_id=audit_id, item_key=item_key)

    @classmethod
    def after(cls, rectification_id: uuid.UUID) -> "PhotoOwner":
        """The rectification's after photo (its before photo is the audit item's)."""
        return cls(rectification_id=rectification_id)

    @classmethod
    def of(cls, photo: Photo) -> "PhotoOwner":
        """The owner of a stored photo."""
        return cls(
            visit_id=photo.visit_id,
            kind=photo.kind,
            audit_id=photo.audit_id,
            item_key=photo.item_key,
            rectification_id=photo.rectification_id,
        )

    @property
    def owner_kind(self) -> OwnerKind:
        if self.visit_id is not None:
            return OwnerKind.visit
        if self.audit_id is not None:
            return OwnerKind.audit_item
        return OwnerKind.after

    @property
    def owner_id(self) -> uuid.UUID:
        """The visit's, audit's or rectification's id (``photo_hash_bands.owner_id``)."""
        owner_id = self.visit_id or self.audit_id or self.rectification_id
        assert owner_id is not None  # __post_init__ guarantees one
        return owner_id

    @property
    def slot(self) -> str:
        """The slot's name in storage keys: the kind, ``item-<item_key>`` or ``after``."""
        if self.kind is not None:
            return self.kind.value
        if self.item_key is not None:
            return f"item-{self.item_key}"
        return "after"

    def columns(self) -> dict[str, object]:
        """The row's five owner columns (``None`` for the other kinds of owner)."""
        return {
            "visit_id": self.visit_id,
            "kind": self.kind,
            "audit_id": self.audit_id,
            "item_key": self.item_key,
            "rectification_id": self.rectification_id,
        }

    def storage_keys(self, org_id: uuid.UUID, original_sha256: str) -> tuple[str, str]:
        """The stored copy's and the thumbnail's keys: ``{org}/{owner_id}/{slot}-{digest32}``.

        The upload's digest is in the name, so a replacement never overwrites the file a
        committed row still points at.
        """
        base = f"{org_id}/{self.owner_id}/{self.slot}-{original_sha256[:32]}"
        return f"{base}.jpg", f"{base}.thumb.jpg"
