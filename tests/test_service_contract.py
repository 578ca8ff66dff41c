"""The service against its own OpenAPI contract, with schemathesis: no 500, statuses and bodies as documented.

Two of schemathesis's checks are left out, for reasons a JSON Schema cannot carry:
- negative data: the reader refuses what a schema cannot say (a key given twice, `-0`, the size and
  depth limits), so a request the schema rejects may be one that is refused for another reason;
- positive data: facts that are each valid may contradict each other (a `type_acheteur` of `commune`
  with an `acheteur` of `autorité_centrale`, a calendar-invalid launch date such as 2026-02-30): the
  rulebook answers E402/E413 with a 422, which is the right answer to such a situation.
"""

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
    case.call_and_validate(excluded_checks=[schemathesis.checks.negative_data_rejection, schemathesis.checks.positive_data_acceptance])
