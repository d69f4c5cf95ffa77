"""Auth, argument checks, path containment and status: the edges every mlnb route shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jupyter_server.auth import Authorizer
from traitlets.config import Config

def routes(run_id: str) -> list[tuple[str, tuple[str, ...], dict | None]]:
    return [
        ("GET", ("runs",), None),
        ("GET", ("runs", run_id), None),
        ("GET", ("runs", run_id, "metrics", "acc"), None),
        ("GET", ("compare",), {"ids": f"{run_id},{run_id[:8]}"}),
        ("GET", ("cells",), {"notebook": "nb.ipynb"}),
        ("GET", ("status",), None),
        ("DELETE", ("runs", run_id), None),
    ]


@pytest.mark.parametrize(
    "authorization", ["", "token not-the-token", "Bearer nope"], ids=["none", "wrong", "bearer"]
)
async def test_every_route_refuses_requests_without_the_token(api, seed_run, authorization):
    run_id = seed_run("secret", metrics={"acc": 0.5})
    for method, parts, params in routes(run_id):
        reply = await api(*parts, method=method, params=params,
                          headers={"Authorization": authorization})
        assert reply.code in (401, 403), (method, parts, reply)
        assert set(reply.body or {}) <= {"message", "reason"}, (method, parts, reply)
    # the same requests with the token are answered, and the refused DELETE deleted nothing
    for method, parts, params in routes(run_id)[:-1]:
        assert (await api(*parts, method=method, params=params)).code == 200, (method, parts)


async def test_routes_live_under_base_url_only(api, http_server_client, jp_auth_header,
                                               jp_base_url):
    assert jp_base_url != "/"
    assert (await api("status")).code == 200
    reply = await http_server_client.fetch(
        "/mlnb/api/status", headers=jp_auth_header, raise_error=False
    )
    assert reply.code == 404


async def test_status_names_project_and_store(api, project_dir: Path):
    reply = await api("status")
    assert reply.code == 200, reply
    assert reply.body["project_root"] == str(project_dir.resolve())
    assert reply.body["server_root"] == str(project_dir.resolve())
    assert reply.body["store_url"].startswith("sqlite:///")
    assert isinstance(reply.body["version"], str) and reply.body["version"]


async def test_status_never_shows_the_store_password(api, monkeypatch):
    monkeypatch.setenv("MLNB_STORE_URL", "postgresql://alice:s3cret@db.example:5432/mlnb?password=x2")
    reply = await api("status")
    assert reply.code == 200, reply
    assert "s3cret" not in reply.body["store_url"]
    assert "x2" not in reply.body["store_url"]
    assert reply.body["store_url"].startswith("postgresql://alice:***@db.example:5432/mlnb")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"offset": "-1"},
        {"offset": "1e3"},
    ],
)
async def test_runs_paging_out_of_range_is_400(api, params):
    reply = await api("runs", params=params)
    assert reply.code == 400, reply
    assert reply.body["reason"] == "UsageError"
    name = next(iter(params))
    assert repr(name) in reply.body["message"]


async def test_required_arguments_are_400(api):
    for parts, params in [(("cells",), None), (("cells",), {"notebook": " "}),
                          (("compare",), None), (("compare",), {"ids": ", ,"}),
                          (("compare",), {"ids": "abc"}), (("compare",), {"ids": "abc,abc"})]:
        reply = await api(*parts, params=params)
        assert reply.code == 400, (parts, params, reply)
        assert reply.body["reason"] == "UsageError"
        assert reply.body["message"]


async def test_too_many_ids_to_compare_is_400(api):
    reply = await api("compare", params={"ids": ",".join(f"r{i}" for i in range(101))})
    assert reply.code == 400, reply
    assert "at most 100" in reply.body["message"]


@pytest.mark.parametrize(
    "notebook",
    ["../x.ipynb", "sub/../../x.ipynb", "/etc/passwd", "escape/secret.ipynb"],
)
async def test_cells_refuses_paths_outside_the_server_root(api, project_dir: Path, notebook):
    outside = project_dir.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.ipynb").write_text("{}")
    link = project_dir / "escape"
    if not link.exists():
        os.symlink(outside, link)
    reply = await api("cells", params={"notebook": notebook})
    assert reply.code == 403, reply
    assert reply.body["reason"] == "PathOutsideRootError"
    assert reply.body["path"] == notebook


async def test_cells_accepts_dotdot_that_stays_inside(api):
    reply = await api("cells", params={"notebook": "sub/../nb.ipynb"})
    assert reply.code == 200, reply
    assert reply.body["notebook"] == "nb.ipynb"
    assert reply.body["cells"] == {}


class ReadOnlyAuthorizer(Authorizer):
    """Lets everyone read and nobody write; remembers what it was asked."""

    asked: list[tuple[str, str]] = []

    def is_authorized(self, handler, user, action, resource):
        self.asked.append((action, resource))
        return action == "read"


class TestAuthorization:
    """`@authorized` asks the server's Authorizer about resource "mlnb" for every verb."""

    @pytest.fixture
    def jp_server_config(self):
        ReadOnlyAuthorizer.asked = []
        return Config({"ServerApp": {"jpserver_extensions": {"mlnb": True},
                                     "authorizer_class": ReadOnlyAuthorizer}})

    async def test_a_read_only_user_can_list_but_not_delete(self, api, seed_run):
        run_id = seed_run("protected")
        assert (await api("runs")).code == 200
        refused = await api("runs", run_id, method="DELETE")
        assert refused.code == 403, refused
        assert (await api("runs", run_id)).code == 200  # still there
        assert ("read", "mlnb") in ReadOnlyAuthorizer.asked
        assert ("write", "mlnb") in ReadOnlyAuthorizer.asked
