from backend.kit.schemas import ResponseSchema


class CalendarFeedRead(ResponseSchema):
    """The caller's secret feed URL: anyone who has it reads the calendar, so it is shown only
    to its owner and can be rotated (the old URL then answers 404)."""

    url: str
