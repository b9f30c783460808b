"""The emulated BIG-IP's authentication: Basic on every request, tokens from the login URI,
their lifetime, extension, deletion and per-user limit, and the 401 answers a unit sends."""

from __future__ import annotations

import base64

import httpx

from mocks.bigip import MockBigIP
from tests.bigip_fixtures import BIGIP_PASSWORD, BIGIP_USER, Unit, trust

LOGIN = "/mgmt/shared/authn/login"
CREDENTIALS = {"username": BIGIP_USER, "password": BIGIP_PASSWORD, "loginProviderName": "tmos"}


def anonymous(mock: MockBigIP) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=mock.url, verify=trust(mock), timeout=10)


async def login(http: httpx.AsyncClient) -> str:
    response = await http.post(LOGIN, json=CREDENTIALS)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]["token"]
    return token


async def test_basic_auth_answers_and_a_wrong_password_gets_the_html_page(mock_bigip: MockBigIP) -> None:
    async with anonymous(mock_bigip) as http:
        good = await http.get("/mgmt/tm/sys/", auth=(BIGIP_USER, BIGIP_PASSWORD))
        assert good.status_code == 200
        bad = await http.get("/mgmt/tm/sys/", auth=(BIGIP_USER, "Xq9-bad-pass"))
        assert bad.status_code == 401
        assert bad.reason_phrase == "F5 Authorization Required"
        assert bad.headers["content-type"].startswith("text/html")
        assert "Authentication required!" in bad.text
        assert BIGIP_PASSWORD not in bad.text
        assert "Xq9-bad-pass" not in bad.text


async def test_no_credentials_at_all_is_a_json_401(mock_bigip: MockBigIP) -> None:
    async with anonymous(mock_bigip) as http:
        response = await http.get("/mgmt/tm/ltm/virtual")
    body = response.json()
    assert response.status_code == 401
    assert body["kind"] == ":resterrorresponse"
    assert body["message"].startswith("Authorization failed: no user authentication header or token detected. Uri:")
    assert "/mgmt/tm/ltm/virtual" in body["message"]


async def test_login_answers_the_token_fields_clients_read(mock_bigip: MockBigIP) -> None:
    async with anonymous(mock_bigip) as http:
        response = await http.post(LOGIN, json=CREDENTIALS, auth=(BIGIP_USER, BIGIP_PASSWORD))
        token = response.json()["token"]
        assert response.status_code == 200
        assert token["token"] == token["name"]
        assert len(token["token"]) == 26
        assert token["timeout"] == 1200
        assert token["userName"] == BIGIP_USER
        assert token["expirationMicros"] - token["lastUpdateMicros"] == 1200 * 1_000_000
        assert token["kind"] == "shared:authz:tokens:authtokenitemstate"
        used = await http.get("/mgmt/tm/ltm/pool", headers={"X-F5-Auth-Token": token["token"]})
        assert used.status_code == 200


async def test_a_token_wins_over_a_bad_basic_header(mock_bigip: MockBigIP) -> None:
    """bigrest sends ``None:None`` as Basic next to its token."""
    async with anonymous(mock_bigip) as http:
        token = await login(http)
        response = await http.get("/mgmt/tm/ltm/node", headers={"X-F5-Auth-Token": token}, auth=("None", "None"))
        assert response.status_code == 200


async def test_a_wrong_password_at_login_is_a_json_401_without_the_password(mock_bigip: MockBigIP) -> None:
    async with anonymous(mock_bigip) as http:
        response = await http.post(LOGIN, json=CREDENTIALS | {"password": "not-it"})
    body = response.json()
    assert (response.status_code, response.reason_phrase) == (401, "F5 Authorization Required")
    assert body["message"] == "Authentication failed."
    assert body["kind"] == ":resterrorresponse"
    assert "not-it" not in response.text
    assert '"username":"admin"' in body["originalRequestBody"]


async def test_expired_and_unknown_tokens_get_their_own_401(mock_bigip: MockBigIP, bigip: Unit) -> None:
    async with anonymous(mock_bigip) as http:
        token = await login(http)
        await bigip.control("POST", "clock", {"advance": 1199})
        assert (await http.get("/mgmt/tm/sys", headers={"X-F5-Auth-Token": token})).status_code == 200
        await bigip.control("POST", "clock", {"advance": 2})
        expired = await http.get("/mgmt/tm/sys", headers={"X-F5-Auth-Token": token})
        unknown = await http.get("/mgmt/tm/sys", headers={"X-F5-Auth-Token": "NOSUCHTOKEN"})
    assert (expired.status_code, expired.json()["message"]) == (401, "X-F5-Auth-Token has expired.")
    assert (unknown.status_code, unknown.json()["message"]) == (401, "X-F5-Auth-Token does not exist.")


async def test_a_token_extends_to_36000_seconds_and_no_further(mock_bigip: MockBigIP, bigip: Unit) -> None:
    async with anonymous(mock_bigip) as http:
        token = await login(http)
        headers = {"X-F5-Auth-Token": token}
        link = f"/mgmt/shared/authz/tokens/{token}"
        too_long = await http.patch(link, json={"timeout": 36001}, headers=headers)
        assert too_long.status_code == 406
        assert too_long.json()["message"] == "Auth-token absolute timeout (36000 seconds) exceeded"
        extended = await http.patch(link, json={"timeout": "36000"}, headers=headers)
        assert extended.status_code == 200
        assert extended.json()["timeout"] == 36000
        await bigip.control("POST", "clock", {"advance": 35000})
        assert (await http.get("/mgmt/tm/sys", headers=headers)).status_code == 200
        await bigip.control("POST", "clock", {"advance": 1001})
        assert (await http.get("/mgmt/tm/sys", headers=headers)).status_code == 401


async def test_a_deleted_token_no_longer_exists(mock_bigip: MockBigIP, bigip: Unit) -> None:
    async with anonymous(mock_bigip) as http:
        token = await login(http)
        headers = {"X-F5-Auth-Token": token}
        assert (await http.delete(f"/mgmt/shared/authz/tokens/{token}", headers=headers)).status_code == 200
        after = await http.get("/mgmt/tm/sys", headers=headers)
    assert after.json()["message"] == "X-F5-Auth-Token does not exist."
    assert (await bigip.control("GET", "tokens"))["total"] == 0


async def test_the_101st_token_of_a_user_is_refused_until_one_goes(mock_bigip: MockBigIP, bigip: Unit) -> None:
    async with anonymous(mock_bigip) as http:
        tokens = [await login(http) for _ in range(100)]
        refused = await http.post(LOGIN, json=CREDENTIALS)
        assert refused.status_code == 400
        assert refused.json()["message"] == f"user {BIGIP_USER} has reached maximum active login tokens"
        held = await bigip.control("GET", "tokens")
        assert len(held["users"][BIGIP_USER]) == 100
        await http.delete(f"/mgmt/shared/authz/tokens/{tokens[0]}", headers={"X-F5-Auth-Token": tokens[1]})
        assert (await http.post(LOGIN, json=CREDENTIALS)).status_code == 200


async def test_a_password_change_ends_the_users_tokens(mock_bigip: MockBigIP, bigip: Unit) -> None:
    async with anonymous(mock_bigip) as http:
        token = await login(http)
        answer = await bigip.control("POST", "password", {"password": "rotated"})
        assert answer["ended_tokens"] == 1
        ended = await http.get("/mgmt/tm/sys", headers={"X-F5-Auth-Token": token})
        assert (ended.status_code, ended.json()["message"]) == (401, "X-F5-Auth-Token does not exist.")
        assert (await http.get("/mgmt/tm/sys", auth=(BIGIP_USER, BIGIP_PASSWORD))).status_code == 401
        assert (await http.get("/mgmt/tm/sys", auth=(BIGIP_USER, "rotated"))).status_code == 200


async def test_another_users_token_cannot_be_touched(mock_bigip: MockBigIP, bigip: Unit) -> None:
    await bigip.control("POST", "password", {"username": "operator", "password": "op-pass"})
    async with anonymous(mock_bigip) as http:
        mine = await login(http)
        theirs = (await http.post(LOGIN, json={"username": "operator", "password": "op-pass"})).json()["token"]["token"]
        response = await http.delete(f"/mgmt/shared/authz/tokens/{theirs}", headers={"X-F5-Auth-Token": mine})
        assert response.status_code == 400
        assert (await http.get("/mgmt/tm/sys", headers={"X-F5-Auth-Token": theirs})).status_code == 200


async def test_the_api_is_https_only_with_a_certificate_for_loopback(mock_bigip: MockBigIP) -> None:
    assert mock_bigip.url.startswith("https://127.0.0.1:")
    plain = mock_bigip.url.replace("https://", "http://")
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            response = await http.get(f"{plain}/mgmt/tm/sys", auth=(BIGIP_USER, BIGIP_PASSWORD))
        except httpx.HTTPError:
            return
    assert response.status_code == 400  # a plain-HTTP request to a TLS port never reaches the API


def test_basic_header_parsing_refuses_garbage(mock_bigip: MockBigIP) -> None:
    users = mock_bigip.state.users
    assert users.basic("Basic " + base64.b64encode(f"{BIGIP_USER}:{BIGIP_PASSWORD}".encode()).decode()) == BIGIP_USER
    assert users.basic("Basic !!notbase64") is None
    assert users.basic("Bearer abc") is None
    assert users.basic("Basic " + base64.b64encode(b"no-colon").decode()) is None
