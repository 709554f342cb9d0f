"""The routing engine: pure functions from (compiled code, visit, time, state) to a decision.

No I/O and no HTTP objects. ``compile_code`` once per stored code version, ``resolve`` per scan,
``build_destination`` to add UTM parameters and the scan id, ``app_page`` for app links,
``validate_rules`` / ``RULES_SCHEMA`` for the API.
"""

from scanroute.routing.compile import RoutableCode, compile_code
from scanroute.routing.conditions import ConditionKind
from scanroute.routing.decision import Decision, DecisionKind
from scanroute.routing.deeplink import APP_PAGE_CSP, app_page
from scanroute.routing.destination import (
    SCAN_ID_PARAM,
    UTM_KEYS,
    build_destination,
    merge_utm,
)
from scanroute.routing.engine import RoutingState, resolve
from scanroute.routing.rules import (
    RuleProblem,
    check_app_url,
    check_web_url,
    rule_cap_key,
    variant_cap_key,
)
from scanroute.routing.schema import MAX_RULES, MAX_VALUES, RULES_SCHEMA, validate_rules

__all__ = [
    "APP_PAGE_CSP",
    "MAX_RULES",
    "MAX_VALUES",
    "RULES_SCHEMA",
    "SCAN_ID_PARAM",
    "UTM_KEYS",
    "ConditionKind",
    "Decision",
    "DecisionKind",
    "RoutableCode",
    "RoutingState",
    "RuleProblem",
    "app_page",
    "build_destination",
    "check_app_url",
    "check_web_url",
    "compile_code",
    "merge_utm",
    "resolve",
    "rule_cap_key",
    "validate_rules",
    "variant_cap_key",
]
