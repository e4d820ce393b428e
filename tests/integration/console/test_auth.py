"""Logging in: cookie flags, wrong passwords, CSRF on every form and API POST, header (auth proxy) mode."""
from __future__ import annotations

import re
from datetime import timedelta

from console_kit import T0, api_token, conversation, login
from switchboard.common.testing import wait_for


async def seed_one(console, producer, topics, cid="c-auth", brand="acme") -> None:
    await producer.publish(topics.conversations, conversation("conversation_opened", cid, T0, brand=brand), key=cid)
    await producer.drain()
    await wait_for(lambda: console.app.store.rows.find_one({"_id": cid}), timeout=15)


async def test_login_sets_an_httponly_samesite_session_cookie_and_logout_clears_it(console):
    async with console.client() as client:
        response = await login(client, "alice")
        assert response.status_code == 303 and response.headers["location"] == "/inbox"
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("sb_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # cookie_secure is off for plain-HTTP dev; on in the chart
        inbox = await client.get("/inbox")
        assert inbox.status_code == 200 and "Alice" in inbox.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.text).group(1)
        out = await client.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and 'sb_session=""' in out.headers["set-cookie"]
        client.cookies.clear()
        again = await client.get("/inbox")
        assert again.status_code == 303 and again.headers["location"].startswith("/login?next=%2Finbox")


async def test_secure_cookie_when_configured(start_console):
    console = await start_console(cookie_secure=True)
    async with console.client() as client:
        form = await client.get("/login")
        login_cookie = form.headers["set-cookie"]
        assert login_cookie.startswith("sb_login_csrf=") and "Secure" in login_cookie
        # A browser sends Secure cookies over HTTPS only; this plain-HTTP test hands it over itself.
        value = login_cookie.split(";")[0].split("=", 1)[1]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        response = await client.post("/login", data={"username": "alice", "password": "alice-pw", "csrf_token": token},
                                     headers={"Cookie": f"sb_login_csrf={value}"})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("sb_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_wrong_password_unknown_user_and_a_forged_cookie_are_refused(console):
    async with console.client() as client:
        wrong = await login(client, "alice", "not-her-password")
        assert wrong.status_code == 303 and "error=Wrong+username+or+password" in wrong.headers["location"]
        assert "sb_session" not in client.cookies
        nobody = await login(client, "mallory", "whatever")
        assert "error=Wrong+username+or+password" in nobody.headers["location"]
        client.cookies.set("sb_session", "eyJ1IjoiYWxpY2UiLCJzIjoieCIsImUiOjk5OTk5OTk5OTl9.forged")
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_login_form_without_its_csrf_token_is_refused(console):
    async with console.client() as client:
        await client.get("/login")
        response = await client.post("/login", data={"username": "alice", "password": "alice-pw",
                                                      "csrf_token": "guessed"})
    assert "error=The+login+form+expired" in response.headers["location"]


async def test_api_actions_need_the_sessions_csrf_token(console, producer, topics, peers):
    await seed_one(console, producer, topics)
    async with console.client() as client:
        await login(client, "alice")
        missing = await client.post("/api/v1/conversations/c-auth/resolve", json={})
        assert missing.status_code == 403 and "CSRF" in missing.json()["message"]
        token = await api_token(client)
    async with console.client() as other:  # another session of the same user: its token is not this one's
        await login(other, "alice")
        stolen = await other.post("/api/v1/conversations/c-auth/resolve", json={}, headers={"X-CSRF-Token": token})
        assert stolen.status_code == 403
    assert peers.actions == []


async def test_form_posts_need_the_csrf_token(console, producer, topics, peers):
    await seed_one(console, producer, topics)
    async with console.client() as client:
        await login(client, "alice")
        response = await client.post("/conversations/c-auth/actions/resolve", data={"csrf_token": "nope"})
    assert response.status_code == 303 and "error=The+form+expired" in response.headers["location"]
    assert peers.actions == []


async def test_header_mode_trusts_the_auth_proxys_identity_header(start_console, producer, topics):
    console = await start_console(auth={"mode": "header", "identity_header": "X-Auth-Request-Email"})
    await seed_one(console, producer, topics, "c-hdr")
    await seed_one(console, producer, topics, "c-glx", brand="globex")
    async with console.client(headers={"X-Auth-Request-Email": "Alice"}) as client:
        me = await client.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["agent_id"] == "alice"
        listed = (await client.get("/api/v1/conversations", params={"status": "any"})).json()["items"]
        assert [row["id"] for row in listed] == ["c-hdr"]
        assert (await client.get("/login")).status_code == 303  # no password form behind a proxy
    async with console.client(headers={"X-Auth-Request-Email": "stranger@example.com"}) as client:
        assert (await client.get("/api/v1/conversations")).status_code == 401
        page = await client.get("/inbox")
        assert page.status_code == 401 and "not a console user" in page.text
    async with console.client() as client:
        assert (await client.get("/api/v1/conversations")).status_code == 401


async def test_an_expired_session_is_refused(start_console, manual_clock):
    console = await start_console(clock=manual_clock)
    async with console.client() as client:
        await login(client, "alice")
        assert (await client.get("/api/v1/me")).status_code == 200
        await manual_clock.advance(timedelta(hours=13))
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_login_never_redirects_off_site(console):
    async with console.client() as client:
        for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
            form = await client.get("/login", params={"next": target})
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            response = await client.post("/login", data={"username": "alice", "password": "alice-pw",
                                                         "csrf_token": token, "next": target})
            assert response.headers["location"] == "/inbox", target


async def test_failed_logins_are_throttled_per_username_and_per_address(start_console):
    from switchboard.common.clock import ManualClock
    clock = ManualClock(T0)
    console = await start_console(clock=clock, login_max_failures_per_user=3, login_max_failures_per_address=5,
                                  login_window_seconds=600)
    async with console.client() as client:
        for _ in range(3):
            assert "error=Wrong" in (await login(client, "alice", "guess")).headers["location"]
        # Even the right password now waits: 429 with a message that says what happened and how long.
        blocked = await login(client, "alice")
        assert blocked.status_code == 429 and "sb_session" not in client.cookies
        assert "Too many failed logins" in blocked.text and "try again in 10 minute(s)" in blocked.text
        assert blocked.headers["Retry-After"] == "600"
        # Other users from this address still get in, until the address's own limit.
        assert (await login(client, "bob")).status_code == 303 and "sb_session" in client.cookies
        client.cookies.clear()
        for name in ("mallory", "trudy"):
            await login(client, name, "guess")
        assert (await login(client, "sam")).status_code == 429  # 5 failures from 127.0.0.1
        # The window passes: alice's right password works again.
        await clock.advance(timedelta(seconds=601))
        ok = await login(client, "alice")
        assert ok.status_code == 303 and ok.headers["location"] == "/inbox"
