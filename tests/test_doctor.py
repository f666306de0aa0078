"""`churnkb doctor` against the real sandbox CRMs through the real clients."""

from __future__ import annotations

import re

from churnkb.connectors.doctor import mapped_category, unknown_names

from churnkb.cli import main


def test_doctor_reports_what_it_can_read_and_what_a_sync_costs(connector_world, capsys):
    world = connector_world(accounts=30, seed=4)
    code = main(["doctor", "--data-dir", str(world.config.data_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "salesforce (" in out and "hubspot (" in out
    assert "can read: account, contact, opportunity" in out
    assert "configured fields: all exist" in out
    live_accounts = sum(1 for r in world.salesforce.store["Account"].values() if not r.get("IsDeleted"))
    assert re.search(rf"^\s+account\s+{live_accounts}\s+\d+\s+\d+$", out, re.MULTILINE), out
    assert "daily API limit" in out and "hourly sync" in out
    assert "CANCELLATION     -> cancellation" in out


def test_a_misspelled_field_is_named_with_the_closest_real_one(connector_world, capsys, tmp_path):
    world = connector_world(accounts=20, seed=4)
    config = tmp_path / "churnkb.yaml"
    config.write_text("sources:\n  salesforce:\n    loss_reason_field: Loss_Reasn__c\n"
                      "  hubspot:\n    loss_reason_property: closed_lost_reasn\n")
    code = main(["doctor", "--config", str(config), "--data-dir", str(world.config.data_dir)])
    out = capsys.readouterr().out
    assert code == 2
    assert "Opportunity.Loss_Reasn__c: no such field on Opportunity; closest: Loss_Reason__c" in out
    assert "deals.closed_lost_reasn: no such field on deals; closest: closed_lost_reason" in out


def test_doctor_on_a_closed_port_says_which_variable_to_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "tok")
    assert main(["doctor", "salesforce", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: cannot connect to http://127.0.0.1:9 (connection refused); check " \
           "SALESFORCE_INSTANCE_URL" in out


def test_names_and_reason_mapping_helpers():
    problems = unknown_names(["Loss_reason__c", "Nope__c"], ["Loss_Reason__c", "Name"], "Opportunity")
    assert "did you mean Loss_Reason__c" in str(problems[0])
    assert "no similar name exists" in str(problems[1])
    assert mapped_category("Missing Feature") == "product"
    assert mapped_category("zzz no such reason") is None


def test_sync_stops_on_a_misspelled_field_instead_of_landing_nulls(connector_world, capsys, tmp_path):
    world = connector_world(accounts=20, seed=4)
    config = tmp_path / "churnkb.yaml"
    config.write_text("sources:\n  salesforce:\n    loss_reason_field: Loss_Reasn__c\n")
    code = main(["sync", "salesforce", "--quiet", "--config", str(config),
                 "--data-dir", str(world.config.data_dir)])
    out = capsys.readouterr().out
    assert code == 2
    assert "Opportunity.Loss_Reasn__c: no such field on Opportunity; closest: Loss_Reason__c" in out
    assert not list((world.config.data_dir / "raw").rglob("*.parquet"))
