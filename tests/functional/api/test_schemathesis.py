"""schemathesis against a real ``climate-all-in-one`` process: every operation of the
OpenAPI description (``climate/api/openapi.yaml``), with requests generated from it,
as an admin and as a project member (noauth identity headers).

The process runs the real ``physical:host`` plugin on the in-memory compute driver
and a fresh MariaDB database. No answer may be a 5xx, and every answer must conform
to the description (status code described, content type, body schema, headers).
Generation is bounded (:data:`EXAMPLES` per operation and identity, derandomized so
that a run is repeatable) to keep the module well under a minute.
"""

import hypothesis
from hypothesis import HealthCheck
from hypothesis import Phase
import pytest
import schemathesis
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from climate.api import openapi
from tests import backends
from tests.functional.api import all_in_one

EXAMPLES = 12
IDENTITIES = {
    'admin': {'X-User-Id': 'root', 'X-Project-Id': 'admin-project',
              'X-Roles': 'admin,member,reader'},
    'member': {'X-User-Id': 'alice', 'X-Project-Id': 'project-a',
               'X-Roles': 'member,reader'},
}
CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance,
          openapi_checks.response_headers_conformance]

SCHEMA = schemathesis.openapi.from_path(openapi.DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    backends.check('mysql', pytest.skip, pytest.fail)
    tmp = tmp_path_factory.mktemp('schemathesis')
    database = backends.ProvisionedDatabase('mysql', str(tmp))
    process = all_in_one.AllInOne(tmp)
    process.config.write_text(process.config.read_text().replace(
        f'sqlite:///{tmp}/climate.sqlite', database.url))
    try:
        process.start()
        yield process.url.rsplit('/v1', 1)[0]
    finally:
        process.stop()
        database.drop()


@pytest.mark.parametrize('identity', sorted(IDENTITIES))
@pytest.mark.parametrize('operation', OPERATIONS, ids=lambda op: op.label)
def test_no_server_error_and_every_answer_as_described(server, operation, identity):
    headers = IDENTITIES[identity]

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                         database=None, phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(base_url=server, headers=headers, checks=CHECKS,
                               timeout=30)

    run()
