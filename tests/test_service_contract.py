"""The service against its own OpenAPI contract, with schemathesis: no 500, statuses and bodies as documented."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from cpc_rules import default_rulebook
from cpc_rules.service.app import Limits, create_app

app = create_app(default_rulebook(), Limits(batch_items=20, seconds=20))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[schemathesis.checks.negative_data_rejection])
