import uuid

from backend.kit.schemas import LocalizedText, ResponseSchema, UtcDatetime


class NotificationRead(ResponseSchema):
    id: uuid.UUID
    type: str
    title: LocalizedText
    body: LocalizedText
    subject_type: str
    subject_id: uuid.UUID
    created_at: UtcDatetime
    read_at: UtcDatetime | None


class NotificationPage(ResponseSchema):
    items: list[NotificationRead]
    next_cursor: str | None
    unread_count: int
    server_time: UtcDatetime
