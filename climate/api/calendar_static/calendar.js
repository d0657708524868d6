// The reservation calendar: hosts x time from GET /v1/availability/busy, drawn with
// vis-timeline; Shift+drag over a time prepares a `climate lease create` command.
// Dates are shown and written in UTC, as the API takes them.
(function () {
  'use strict';

  var TOKEN_KEY = 'climate-calendar-token';
  var HOUR = 3600 * 1000;
  var ZOOMS = {hours: 6 * HOUR, day: 24 * HOUR, week: 7 * 24 * HOUR,
               month: 31 * 24 * HOUR};
  var SNAP = 15 * 60 * 1000;   // selections snap to quarter hours
  var config = null;
  var auth = null;             // {token, user_id, project_id} with Keystone
  var timeline = null;
  var groups = new vis.DataSet();
  var items = new vis.DataSet();
  var hostNames = {};          // group id -> hypervisor hostname (admins)
  var selecting = null;        // {group, from} while Shift+dragging
  var loadTimer = null;
  var loads = 0;

  function $(id) { return document.getElementById(id); }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  // 'YYYY-MM-DD HH:MM' in UTC: the API's and the CLI's date format.
  function apiDate(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' +
      pad(d.getUTCDate()) + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  }

  function parseApiDate(text) {  // '2040-01-01T00:00:00.000000' is UTC
    return Date.parse(text.substring(0, 19) + 'Z');
  }

  function headers() {
    var h = {'Accept': 'application/json'};
    if (auth) { h['X-Auth-Token'] = auth.token; }
    return h;
  }

  function api(path) {
    return fetch(path, {headers: headers()}).then(function (response) {
      if (response.status === 401 && config.auth !== 'noauth') {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin('Your session has expired: log in again.');
        throw new Error('unauthorized');
      }
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error_message || response.statusText); }
        return body;
      });
    });
  }

  function status(text) { $('status').textContent = text; }

  function load() {
    var range = timeline.getWindow();
    var query = 'start=' + encodeURIComponent(apiDate(range.start.getTime())) +
      '&end=' + encodeURIComponent(apiDate(range.end.getTime() + 60000));
    var mine = ++loads;
    status('Loading…');
    return api('../v1/availability/busy?' + query).then(function (body) {
      if (mine !== loads) { return; }
      show(body.busy);
      var count = items.get({filter: function (i) { return i.type !== 'background'; }}).length;
      status(body.busy.hosts.length + ' hosts, ' + count + ' busy intervals shown');
      document.body.setAttribute('data-loaded', String(mine));
    }).catch(function (error) {
      if (error.message !== 'unauthorized') { status('Error: ' + error.message); }
    });
  }

  function show(busy) {
    var newGroups = busy.hosts.map(function (host) {
      hostNames[host.id] = host.hypervisor_hostname || null;
      return {id: host.id, content: host.hypervisor_hostname || ('host ' + host.id)};
    });
    groups.update(newGroups);
    var keep = {};
    newGroups.forEach(function (g) { keep[g.id] = true; });
    groups.remove(groups.getIds().filter(function (id) { return !keep[id]; }));
    var selection = items.get('selection');
    items.clear();
    busy.hosts.forEach(function (host) {
      host.busy.forEach(function (block, index) {
        var when = '\n' + apiDate(parseApiDate(block.start_date)) + ' → ' +
          apiDate(parseApiDate(block.end_date)) + ' UTC';
        var maintenance = block.kind === 'maintenance';
        items.add({
          id: host.id + '/' + index + '/' + block.start_date,
          group: host.id,
          start: parseApiDate(block.start_date),
          end: parseApiDate(block.end_date),
          content: maintenance ? 'maintenance'
            : block.own ? ('lease ' + (block.lease_id || '').substring(0, 8))
            : (block.lease_id ? block.lease_id.substring(0, 8) : 'busy'),
          title: (maintenance ? 'maintenance' + (block.reason ? ': ' + block.reason : '')
            : block.lease_id ? 'lease ' + block.lease_id : 'another project') + when,
          className: maintenance ? 'maintenance' : block.own ? 'own' : 'other',
          leaseId: block.lease_id
        });
      });
    });
    if (selection) { items.add(selection); }
  }

  function scheduleLoad() {
    clearTimeout(loadTimer);
    loadTimer = setTimeout(load, 200);
  }

  function snap(ms) { return Math.round(ms / SNAP) * SNAP; }

  function select(group, from, to) {
    var start = snap(Math.min(from, to));
    var end = snap(Math.max(from, to));
    if (end <= start) { end = start + SNAP; }
    items.update({id: 'selection', type: 'background', className: 'selection',
                  group: group, start: start, end: end, content: ''});
    return {start: start, end: end};
  }

  function command(group, start, end) {
    var reservation = 'min=1,max=1';
    var name = hostNames[group];
    if (name) {
      reservation += ',hypervisor_properties=["==", "$hypervisor_hostname", "' +
        name + '"]';
    }
    var busy = items.get({filter: function (i) {
      return i.group === group && i.type !== 'background' &&
        i.start < end && i.end > start;
    }});
    $('selection-text').textContent = apiDate(start) + ' → ' + apiDate(end) +
      (busy.length ? ' (overlaps ' + busy.length + ' busy interval(s) on this host)' : '');
    $('command').value = 'climate lease create my-lease --start-date "' +
      apiDate(start) + '" --end-date "' + apiDate(end) +
      "\" --physical-reservation '" + reservation + "'";
    $('selection').hidden = false;
  }

  function startTimeline() {
    var now = Date.now();
    timeline = new vis.Timeline($('timeline'), items, groups, {
      moment: function (date) { return vis.moment(date).utc(); },
      start: now - 6 * HOUR, end: now + 7 * 24 * HOUR,
      zoomMin: HOUR, zoomMax: 400 * 24 * HOUR,
      stack: false, orientation: 'top', selectable: false,
      groupOrder: function (a, b) { return Number(a.id) - Number(b.id); }
    });
    timeline.on('rangechanged', scheduleLoad);
    var box = $('timeline');
    // Pointer events: vis-timeline cancels pointerdown, which suppresses mousedown.
    box.addEventListener('pointerdown', function (event) {
      if (!event.shiftKey) { return; }
      var props = timeline.getEventProperties(event);
      if (props.group === null || props.group === undefined) { return; }
      event.preventDefault();
      event.stopPropagation();
      timeline.setOptions({moveable: false});
      selecting = {group: props.group, from: props.time.getTime()};
      select(selecting.group, selecting.from, selecting.from);
    }, true);
    box.addEventListener('pointermove', function (event) {
      if (!selecting) { return; }
      select(selecting.group, selecting.from, timeline.getEventProperties(event).time.getTime());
    }, true);
    window.addEventListener('pointerup', function (event) {
      if (!selecting) { return; }
      var chosen = select(selecting.group, selecting.from,
                          timeline.getEventProperties(event).time.getTime());
      command(selecting.group, chosen.start, chosen.end);
      selecting = null;
      timeline.setOptions({moveable: true});
    }, true);
    document.querySelectorAll('[data-zoom]').forEach(function (button) {
      button.addEventListener('click', function () {
        var range = timeline.getWindow();
        var middle = (range.start.getTime() + range.end.getTime()) / 2;
        var span = ZOOMS[button.getAttribute('data-zoom')];
        timeline.setWindow(middle - span / 2, middle + span / 2, {animation: false});
      });
    });
    $('today').addEventListener('click', function () { timeline.moveTo(Date.now()); });
    $('copy').addEventListener('click', function () {
      $('command').select();
      if (navigator.clipboard) { navigator.clipboard.writeText($('command').value); }
    });
    // For scripts and tests: reload() loads now (and drops a load already scheduled).
    window.climateCalendar = {timeline: timeline, items: items, groups: groups,
                              reload: function () { clearTimeout(loadTimer); return load(); }};
    return load();
  }

  function showCalendar() {
    $('login').hidden = true;
    $('calendar').hidden = false;
    if (auth) {
      $('who').textContent = 'user ' + auth.user_id + ', project ' + auth.project_id;
      $('logout').hidden = false;
    } else {
      $('who').textContent = '(noauth)';
    }
    if (!timeline) { startTimeline(); } else { load(); }
  }

  function showLogin(message) {
    $('calendar').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
  }

  $('login').addEventListener('submit', function (event) {
    event.preventDefault();
    var form = new FormData($('login'));
    var body = {};
    form.forEach(function (value, key) { if (value) { body[key] = value; } });
    fetch('token', {method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.error_message || response.statusText); }
          auth = data;
          sessionStorage.setItem(TOKEN_KEY, JSON.stringify(data));
          $('login').reset();
          showCalendar();
        });
      })
      .catch(function (error) { $('login-error').textContent = error.message; });
  });

  $('logout').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    auth = null;
    $('logout').hidden = true;
    showLogin();
  });

  fetch('config.json').then(function (r) { return r.json(); }).then(function (c) {
    config = c;
    if (config.auth === 'noauth') { showCalendar(); return; }
    var saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) { auth = JSON.parse(saved); showCalendar(); } else { showLogin(); }
  });
}());
