from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.author import Author


T = TypeVar("T", bound="Activity")


@_attrs_define
class Activity:
    """Activity resource

    Attributes:
        id (int): Activity ID.
        content (str): Activity content.
        created_at (datetime.datetime): Date created.
        updated_at (datetime.datetime): Date updated.
        author (Author): User who created the activity
    """

    id: int
    content: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    author: Author
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        content = self.content

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        author = self.author.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "content": content,
                "created_at": created_at,
                "updated_at": updated_at,
                "author": author,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.author import Author

        d = dict(src_dict)
        id = d.pop("id")

        content = d.pop("content")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        author = Author.from_dict(d.pop("author"))

        activity = cls(
            id=id,
            content=content,
            created_at=created_at,
            updated_at=updated_at,
            author=author,
        )

        activity.additional_properties = d
        return activity

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
