"""The reservation calendar page end to end: climate-api's ``/calendar`` in headless
Chromium (Debian's package, driven by Playwright; no browser is downloaded), against
the API with the real physical:host plugin on SQLite, under noauth.

Screenshots are kept in ``tmp/artifacts/calendar/`` (or ``$CLIMATE_TEST_ARTIFACTS``).
"""

import datetime
import json
import os
import urllib.request

from playwright.sync_api import expect
import pytest

from tests import backends
from tests.functional.api import conftest as api

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
ARTIFACTS = os.environ.get('CLIMATE_TEST_ARTIFACTS',
                           os.path.join(ROOT, 'tmp', 'artifacts'))
DAY = datetime.datetime(2040, 3, 1, tzinfo=datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)


def _call(server, method, path, body=None):
    request = urllib.request.Request(
        server.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b'null')


@pytest.fixture(scope='module')
def calendar_server(tmp_path_factory, migrated_templates):
    backends.check(backends.BROWSER, pytest.skip, pytest.fail)
    from climate.compute import memory
    from climate.plugins.physical_host import plugin as host_plugin
    from tests.conftest import climate_uses
    database, release = migrated_templates.copy('sqlite',
                                                str(tmp_path_factory.mktemp('db')))
    conf = api.make_conf()
    plugins = {'physical:host': host_plugin.PhysicalHostPlugin(
        conf, compute_driver=memory.MemoryDriver(conf))}
    try:
        with climate_uses(database), api.local_server(conf, plugins=plugins,
                                                      start=False) as server:
            _call(server, 'POST', '/v1/os-hosts', {'name': 'compute-1'})
            _call(server, 'POST', '/v1/os-hosts', {'name': 'compute-2'})
            server.lease = _call(server, 'POST', '/v1/leases', {
                'name': 'on-the-calendar',
                'start_date': (DAY + 2 * HOUR).strftime('%Y-%m-%d %H:%M'),
                'end_date': (DAY + 5 * HOUR).strftime('%Y-%m-%d %H:%M'),
                'reservations': [{'resource_type': 'physical:host', 'min': 1, 'max': 1,
                                  'hypervisor_properties':
                                      '["==", "$hypervisor_hostname", "compute-1"]'}]
            })['lease']
            _call(server, 'POST', '/v1/os-hosts/1/maintenances', {
                'start_date': (DAY + 14 * HOUR).strftime('%Y-%m-%d %H:%M'),
                'end_date': (DAY + 16 * HOUR).strftime('%Y-%m-%d %H:%M'),
                'reason': 'firmware'})
            yield server
    finally:
        conf.reset()
        release()


@pytest.fixture(scope='module')
def browser():
    """One headless Chromium for the module (Playwright's sync API allows one
    driver per thread)."""
    backends.check(backends.BROWSER, pytest.skip, pytest.fail)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=backends.CHROMIUM, headless=True,
            args=['--no-sandbox', '--disable-dev-shm-usage'])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope='module')
def page(calendar_server, browser):
    page = browser.new_page(viewport={'width': 1200, 'height': 700})
    page.goto(calendar_server.url + '/calendar/')
    page.wait_for_selector('body[data-loaded]')
    yield page
    page.close()


def _screenshot(page, name):
    directory = os.path.join(ARTIFACTS, 'calendar')
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    page.screenshot(path=path, full_page=True)
    return path


def _show_day(page):
    """Show 2040-03-01 00:00 to 24:00 UTC and wait for its busy intervals."""
    loaded = page.get_attribute('body', 'data-loaded')
    start, end = DAY.timestamp() * 1000, (DAY + 24 * HOUR).timestamp() * 1000
    page.evaluate(f'climateCalendar.timeline.setWindow({start}, {end}, '
                  '{animation: false}); climateCalendar.reload()')
    page.wait_for_function(
        f'document.body.getAttribute("data-loaded") !== "{loaded}"')


def test_the_page_renders_and_shows_the_lease(page, calendar_server):
    _show_day(page)
    # Moving the window may schedule one more load: wait for the one that shows.
    page.wait_for_function('document.getElementById("status").textContent === '
                           '"2 hosts, 2 busy intervals shown"')
    # vis-timeline fills its rows on its next animation frame, after the status
    # line: expect() retries until the rows are drawn (or its timeout fails it).
    expect(page.locator('.vis-label').nth(0)).to_have_text('compute-1')
    expect(page.locator('.vis-label').nth(1)).to_have_text('compute-2')
    own = page.locator('.vis-item.own')
    expect(own).to_have_count(1)
    lease_id = calendar_server.lease['id']
    expect(own.first).to_have_text(f'lease {lease_id[:8]}')
    # compute-1's maintenance window is drawn apart from the leases.
    maintenance = page.locator('.vis-item.maintenance')
    expect(maintenance).to_have_count(1)
    expect(maintenance.first).to_have_text('maintenance')
    assert os.path.getsize(_screenshot(page, 'calendar-day.png')) > 0


def test_a_mouse_selection_fills_in_the_command_line(page):
    _show_day(page)
    panel = page.locator('.vis-panel.vis-center').bounding_box()
    label = page.locator('.vis-label').nth(1).bounding_box()    # compute-2's row
    y = label['y'] + label['height'] / 2

    def x_at(hours):
        return panel['x'] + panel['width'] * hours / 24

    page.keyboard.down('Shift')
    page.mouse.move(x_at(6), y)
    page.mouse.down()
    page.mouse.move(x_at(9), y, steps=5)
    page.mouse.move(x_at(12), y, steps=5)
    page.mouse.up()
    page.keyboard.up('Shift')
    page.wait_for_selector('#selection:not([hidden])')
    command = page.input_value('#command')
    assert command == (
        'climate lease create my-lease --start-date "2040-03-01 06:00" '
        '--end-date "2040-03-01 12:00" --physical-reservation '
        '\'min=1,max=1,hypervisor_properties=["==", "$hypervisor_hostname", '
        '"compute-2"]\'')
    _screenshot(page, 'calendar-selection.png')


def test_zoom_buttons_go_from_hours_to_months(page):
    def span_hours():
        return page.evaluate('(function () { var w = climateCalendar.timeline.getWindow();'
                             ' return (w.end - w.start) / 3600000; })()')
    page.click('[data-zoom="hours"]')
    assert span_hours() == pytest.approx(6, rel=0.01)
    page.click('[data-zoom="month"]')
    assert span_hours() == pytest.approx(31 * 24, rel=0.01)
    _screenshot(page, 'calendar-month.png')


def test_the_files_are_served_without_credentials(calendar_server):
    with urllib.request.urlopen(calendar_server.url + '/calendar/config.json') as r:
        assert json.loads(r.read()) == {'auth': 'noauth', 'vis_timeline': '8.5.4'}
    with urllib.request.urlopen(calendar_server.url + '/calendar/vendor/vis-timeline/'
                                'LICENSE.md') as r:
        assert b'Apache-2.0' in r.read()
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(calendar_server.url + '/calendar/../setup.cfg')
    assert error.value.code == 404


# --- with Keystone ---------------------------------------------------------------------

@pytest.fixture(scope='module')
def keystone_calendar(tmp_path_factory, migrated_templates, browser):
    """The API behind keystonemiddleware and the fake Keystone, with the real host
    plugin, and a browser page for its calendar."""
    from climate.compute import memory
    from climate.plugins.physical_host import plugin as host_plugin
    from tests.conftest import climate_uses
    from tests.functional.api import fake_keystone
    keystone = fake_keystone.FakeKeystone()
    config = tmp_path_factory.mktemp('keystone') / 'keystone.conf'
    config.write_text(keystone.authtoken_section())
    database, release = migrated_templates.copy('sqlite',
                                                str(tmp_path_factory.mktemp('db')))
    conf = api.make_conf(files=[str(config)], auth_strategy='keystone')
    plugins = {'physical:host': host_plugin.PhysicalHostPlugin(
        conf, compute_driver=memory.MemoryDriver(conf))}
    try:
        with climate_uses(database), api.local_server(conf, plugins=plugins,
                                                      start=False) as server:
            server.page = browser.new_page(viewport={'width': 1200, 'height': 700})
            try:
                yield server
            finally:
                server.page.close()
    finally:
        conf.reset()
        release()
        keystone.stop()


def _login(server, **body):
    request = urllib.request.Request(
        server.url + '/calendar/token', method='POST', data=json.dumps(body).encode(),
        headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_token_endpoint_asks_keystone(keystone_calendar):
    status, body = _login(keystone_calendar, username='alice', password='wrong',
                          project_name='project-a')
    assert (status, body['error_message']) == (401, 'Keystone refused these credentials')
    status, body = _login(keystone_calendar, username='alice')
    assert (status, body['error_message']) == (400, 'Missing parameter password')
    status, body = _login(keystone_calendar, username='alice', password='alice-password',
                          project_name='project-a')
    assert status == 200
    assert (body['token'], body['user_id'], body['project_id']) == (
        'member-token', 'alice', 'project-a')


def test_the_page_logs_in_with_a_password(keystone_calendar):
    page = keystone_calendar.page
    page.goto(keystone_calendar.url + '/calendar/')
    page.wait_for_selector('#login:not([hidden])')
    page.fill('input[name=username]', 'alice')
    page.fill('input[name=password]', 'wrong')
    page.fill('input[name=project_name]', 'project-a')
    page.click('#login button[type=submit]')
    page.wait_for_function('document.getElementById("login-error").textContent !== ""')
    assert page.inner_text('#login-error') == 'Keystone refused these credentials'
    page.fill('input[name=password]', 'alice-password')
    page.click('#login button[type=submit]')
    page.wait_for_selector('body[data-loaded]')
    assert page.inner_text('#who') == 'user alice, project project-a'
    assert page.is_hidden('#login')
    # The busy listing was read with alice's token (no host enrolled here).
    assert page.inner_text('#status') == '0 hosts, 0 busy intervals shown'
    _screenshot(page, 'calendar-keystone.png')
