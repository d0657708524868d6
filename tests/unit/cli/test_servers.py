"""``server-reserve`` / ``server-create`` wiring to ``climate.client.servers``.

That module comes with the virtual:instance plugin (branch main). Until the merge, the
commands run here against a stand-in module recording the calls, with the signatures
main's module has (``reserve_server(session, server_id, start, end, *, lease_name,
on_end, ..., api)``, ``create_and_reserve_server(session, name, flavor, image, start,
end, *, networks, lease_name, on_end, ..., api)``); after it, the last test checks the
real functions accept exactly those arguments.

TODO after merging main: a functional test in tests/functional/cli running both commands
as subprocesses against climate-all-in-one with ``virtual.instance.plugin`` and the
Nova/Keystone double (tests/fakes), as tests/functional/plugins/test_client_servers.py
does for the library.
"""

import dataclasses
import inspect
import json
import logging
import sys
import types

import pytest

from climate.cli import servers
from climate.cli import shell

LEASE = {'id': 'lease-1', 'name': 'my-vm', 'reservations': []}
CALLS = []


class ClientError(Exception):
    pass


def _reserve_server(session, server_id, start, end, *, lease_name=None, on_end=None,
                    before_end=None, before_end_date=None, api=None):
    CALLS.append(('reserve', server_id, start, end, lease_name, on_end, api))
    if server_id == 'not-mine':
        raise ClientError('the server belongs to another project (HTTP 403)')
    return LEASE


def _create_and_reserve_server(session, name, flavor, image, start, end, *,
                               networks='none', availability_zone=None, metadata=None,
                               lease_name=None, on_end=None, before_end=None,
                               before_end_date=None, api=None, compute=None,
                               boot_timeout=600.0):
    CALLS.append(('create', name, flavor, image, start, end, networks, on_end, api))
    return types.SimpleNamespace(server=types.SimpleNamespace(id='server-1'),
                                 lease=LEASE)


@pytest.fixture
def stand_in(monkeypatch):
    module = types.ModuleType('climate.client.servers')
    module.ClientError = ClientError
    module.reserve_server = _reserve_server
    module.create_and_reserve_server = _create_and_reserve_server
    monkeypatch.setitem(sys.modules, 'climate.client.servers', module)
    for key in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_TOKEN'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('OS_AUTH_TYPE', 'none')
    monkeypatch.setenv('OS_ENDPOINT', 'http://climate.example/v1')
    # cliff adds its console handler to the root logger on every run in this process
    monkeypatch.setattr(logging.root, 'handlers', [])
    CALLS.clear()
    return module


def test_server_reserve_passes_dates_in_utc_and_this_clis_adapter(stand_in, capsys):
    assert shell.main(['server-reserve', 'srv-1', '--start', '2030-01-01T12:00:00+02:00',
                       '--end', '2030-01-02 10:00', '--on-end', 'shelve',
                       '-f', 'json']) == 0
    (call,) = CALLS
    assert call[:6] == ('reserve', 'srv-1', '2030-01-01 10:00', '2030-01-02 10:00',
                        None, 'shelve')
    assert call[6].service_type == 'reservation'
    assert json.loads(capsys.readouterr().out)['id'] == 'lease-1'


def test_server_create_networks(stand_in, capsys):
    assert shell.main(['server-create', 'box', '--flavor', 'f1', '--image', 'i1',
                       '--end', '2030-01-02 10:00', '-f', 'json']) == 0
    assert shell.main(['server-create', 'box', '--flavor', 'f1', '--image', 'i1',
                       '--network', 'n1', '--network', 'n2',
                       '--end', '2030-01-02 10:00', '-f', 'json']) == 0
    assert [call[6] for call in CALLS] == ['none', [{'uuid': 'n1'}, {'uuid': 'n2'}]]
    assert CALLS[0][4] == 'now'
    shown = json.loads(capsys.readouterr().out.split('\n}\n')[0] + '\n}')
    assert shown['server_id'] == 'server-1'


def test_flow_errors_are_one_line(stand_in, capsys):
    assert shell.main(['server-reserve', 'not-mine', '--end', '2030-01-02 10:00']) == 1
    assert capsys.readouterr().err.strip() == (
        'the server belongs to another project (HTTP 403)')


def test_real_functions_take_the_arguments_the_commands_pass():
    module = servers._servers_module()
    inspect.signature(module.reserve_server).bind(
        None, 'srv', 'now', 'now', lease_name=None, on_end=None, api=None)
    inspect.signature(module.create_and_reserve_server).bind(
        None, 'box', 'f', 'i', 'now', 'now', networks='none', lease_name=None,
        on_end=None, api=None)
    assert issubclass(module.ClientError, Exception)
    assert dataclasses.is_dataclass(module.ReservedServer)
