"""Prints a password_hash for console.yaml: `python -m switchboard.console.hashpw` (asks for the password)."""
import getpass
import sys

from switchboard.console.domain.auth import hash_password


def main() -> int:
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    if not password:
        print("empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
