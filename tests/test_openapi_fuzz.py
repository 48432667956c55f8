"""Schemathesis generates requests from the OpenAPI document: whatever it sends, the service never answers 5xx."""

import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 30


def test_no_operation_answers_a_server_error(world):
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    tokens = {user: world.as_(user) for user in ("acme-engineer", "root")}  # before the fuzzing locks the address
    for user in ("acme-engineer", "root", None):
        headers = tokens[user] if user else {}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def no_server_error(case):  # called at once, in this iteration: the loop's current values are meant
                response = case.call(headers=headers)  # noqa: B023
                assert response.status_code < 500, (
                    user,  # noqa: B023
                    case.method,
                    case.formatted_path,
                    response.status_code,
                    response.text[:500],
                )

            no_server_error()
