"""console.yaml (version 1): the people who may log in, their agent ids, brands and roles."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from switchboard.common.config import ConfigError, load_config
from switchboard.console.domain.auth import User, check_hash_format


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=320)
    name: str = ""
    agent_id: str = Field(min_length=1, max_length=200)
    brands: list[str] = Field(min_length=1)
    role: Literal["agent", "supervisor"] = "agent"
    password_hash: str = ""

    @field_validator("password_hash")
    @classmethod
    def _hash_format(cls, value: str) -> str:
        if value and (problem := check_hash_format(value)):
            raise ValueError(problem)
        return value


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[UserIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ConsoleConfig:
        seen: set[str] = set()
        for user in self.users:
            key = user.username.lower()
            if key in seen:
                raise ValueError(f"username {user.username!r} appears twice")
            seen.add(key)
        return self


class UserDirectory:
    """Users by username (case-insensitive: identity headers carry e-mail addresses)."""

    def __init__(self, users: list[User]) -> None:
        self._by_name = {u.username.lower(): u for u in users}

    def get(self, username: str | None) -> User | None:
        return self._by_name.get(username.strip().lower()) if username else None

    def __len__(self) -> int:
        return len(self._by_name)


def load_users(path: Path, *, require_passwords: bool) -> UserDirectory:
    config = load_config(path, ConsoleConfig)
    if require_passwords:
        missing = [u.username for u in config.users if not u.password_hash]
        if missing:
            raise ConfigError(f"{path}: users {', '.join(missing)} have no password_hash; password mode needs one "
                              "(generate with: python -m switchboard.console.hashpw)")
    return UserDirectory([User(username=u.username, name=u.name or u.username, agent_id=u.agent_id,
                               brands=tuple(u.brands), role=u.role, password_hash=u.password_hash)
                          for u in config.users])
