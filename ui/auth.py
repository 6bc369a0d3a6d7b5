"""Who may open the chat UI: nobody needs a login on this machine's loopback address; anywhere else `picseek ui`
starts only with one (Gradio's own login page and session cookie)."""

from __future__ import annotations

from pathlib import Path

from picseek.tools.errors import PicseekError
from picseek.tools.network import is_loopback

QUEUE_SIZE = 64  # turns waiting at once, over all clients (20 sessions at once fit): a flood is refused, not queued


class LoginRequired(PicseekError):
    """The UI would listen beyond this machine without a login, or the login given is malformed."""


def parse_login(text: str, source: str) -> tuple[str, str]:
    user, sep, password = text.strip().partition(":")
    if not sep or not user or not password:
        raise LoginRequired(f"{source} must be USER:PASSWORD, with both parts non-empty.")
    return user, password


def login_for(host: str, auth: str | None = None, auth_file: Path | None = None) -> tuple[str, str] | None:
    """The login the UI asks for: --auth USER:PASSWORD, else the first line of --auth-file, else PICSEEK_UI_AUTH.
    None on loopback without one; off loopback without one, a `LoginRequired` that says what to do."""
    from picseek.tools.settings import settings

    if auth:
        return parse_login(auth, "--auth")
    if auth_file is not None:
        try:
            lines = [x for x in Path(auth_file).read_text().splitlines() if x.strip()]
        except OSError as e:
            raise LoginRequired(f"cannot read --auth-file {auth_file}: {e.strerror}.") from None
        if not lines:
            raise LoginRequired(f"--auth-file {auth_file} is empty; write USER:PASSWORD on its first line.")
        return parse_login(lines[0], "--auth-file")
    env = settings().ui_auth
    if env:
        return parse_login(env, "PICSEEK_UI_AUTH")
    if is_loopback(host):
        return None
    raise LoginRequired(
        f"refusing to serve your pictures on {host} without a login: anyone on the network could see them. "
        "Pass --auth USER:PASSWORD (or --auth-file FILE, or set PICSEEK_UI_AUTH), or listen on 127.0.0.1."
    )
