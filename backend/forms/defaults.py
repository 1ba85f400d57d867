"""The customer types every new organization starts with (their visit forms come with the forms
module: each key here is where a default form definition will attach)."""

from typing import NamedTuple


class DefaultCustomerType(NamedTuple):
    key: str
    name: str
    name_en: str


DEFAULT_CUSTOMER_TYPES = (
    DefaultCustomerType("pharmacy", "药店", "Pharmacy"),
    DefaultCustomerType("clinic", "诊所", "Clinic"),
    DefaultCustomerType("supermarket", "超市", "Supermarket"),
)
