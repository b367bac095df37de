"""The WHMCS module, called by php-cli as WHMCS would, against a panel served by this test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.api.models import ApiKey
from apps.subscriptions.models import ServiceAccount

from ..conftest import grant
from ..factories import PlanFactory, ResellerFactory
from .conftest import make_key

HARNESS = Path(settings.BASE_DIR) / "integrations" / "whmcs" / "tests" / "harness.php"
PHP = shutil.which("php") or "/usr/bin/php"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(PHP).exists(), reason="php-cli is installed by `make test`"),
]


def run_harness(scenario: str, **env: str) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 (our own harness, fixed arguments)
        [PHP, str(HARNESS), scenario], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env}, check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_every_function_answers_its_type_with_empty_params() -> None:
    out = run_harness("empty")
    assert out["MetaData"]["DisplayName"] == "Billing Panel"
    assert set(out["ConfigOptions"]) == {"Plan ID", "Months"}
    assert set(out["AdminCustomButtonArray"]) == {"Renew", "Reset Password", "Resend Welcome"}
    assert out["TestConnection"]["success"] is False and out["TestConnection"]["error"]
    assert out["ClientArea"]["templatefile"] == "templates/clientarea"
    for name in ("CreateAccount", "SuspendAccount", "UnsuspendAccount", "TerminateAccount",
                 "Renew", "ChangePackage", "ChangePassword", "ResetPassword", "ResendWelcome"):
        assert isinstance(out[name], str) and out[name] != "success", name


def test_an_unreachable_panel_gives_error_strings() -> None:
    out = run_harness("unreachable", API_KEY="bp_live_secretsecretsecret")
    assert out["TestConnection"]["success"] is False
    assert "cannot be reached" in out["TestConnection"]["error"]
    assert "cannot be reached" in out["SuspendAccount"]
    assert "bp_live_secretsecretsecret" not in json.dumps([e["masked"] for e in out["log"]])


@pytest.mark.django_db(transaction=True)
def test_the_module_drives_an_account_through_its_life(live_server: Any) -> None:
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    bigger = PlanFactory.create(reseller=reseller, name="Premium", credit_cost=2)
    grant(reseller, 20)
    raw = make_key(reseller)
    out = run_harness("full", PANEL_URL=live_server.url, API_KEY=raw, PLAN_ID=str(plan.pk),
                      OTHER_PLAN_ID=str(bigger.pk), SERVICE_ID="77")
    assert out["TestConnection"] == {"success": True, "error": ""}
    assert out["CreateAccount"] == "success" and out["CreateAccountAgain"] == "success"
    account = ServiceAccount.objects.get()
    assert out["saved"]["Panel Account ID"] == str(account.pk)
    assert out["saved"]["username"] == account.username
    vars_ = out["ClientArea"]["vars"]
    assert vars_["username"] == account.username and vars_["password"]
    assert out["ClientAreaByUsername"]["vars"]["username"] == account.username
    for name in ("SuspendAccount", "UnsuspendAccount", "Renew", "ChangePackage",
                 "ChangePassword", "ResendWelcome", "TerminateAccount"):
        assert out[name] == "success", (name, out[name])
    assert out["password_changed"] is True
    assert out["local_api"][0][0] == "SendEmail"
    assert "cannot suspend" in out["SuspendTerminated"]
    account.refresh_from_db()
    assert account.status == "terminated" and account.plan_id == bigger.pk
    assert account.subscriber.external_id == "whmcs-client-301"
    # Every call logged, the key given to WHMCS to mask, and never in what is stored.
    assert {"CreateAccount", "SuspendAccount", "Renew", "TestConnection"} <= {
        entry["action"] for entry in out["log"]}
    assert all(entry["replace_vars"] == [raw] for entry in out["log"])
    assert raw not in json.dumps([entry["masked"] for entry in out["log"]])
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.django_db(transaction=True)
def test_test_connection_refuses_a_test_key(live_server: Any) -> None:
    reseller = ResellerFactory.create()
    raw = make_key(reseller, mode="test")
    out = run_harness("full", PANEL_URL=live_server.url, API_KEY=raw, PLAN_ID="1",
                      OTHER_PLAN_ID="1", SERVICE_ID="78")
    assert out["TestConnection"]["success"] is False
    assert "TEST key" in out["TestConnection"]["error"]
