from backend.errors import Conflict


class UsernameTaken(Conflict):
    def __init__(self, username: str) -> None:
        super().__init__(f"The username {username!r} is already taken.", field="username")
