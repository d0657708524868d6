"""ExternalServiceFilter (Blazar's): an outside HTTP service decides.

Options (``[enforcement]``, Blazar's names): ``external_service_base_endpoint``, to
which ``/check-create``, ``/check-update`` and ``/on-end`` are appended, or each
endpoint set on its own (``external_service_check_create_endpoint``,
``..._check_update_endpoint``, ``..._on_end_endpoint``); ``external_service_token``
is sent as ``X-Auth-Token``. A hook with no endpoint is not called.

Each call is a JSON ``POST`` (Blazar's payload)::

    check-create  {"context": {...}, "lease": {...}}
    check-update  {"context": {...}, "current_lease": {...}, "lease": {...}}
    on-end        {"context": {...}, "lease": {...}}

``context`` is ``user_id``, ``project_id``, ``auth_url``, ``region_name`` (the last
two from the ``[nova]`` account's settings, null when unset); a lease carries its
``name``, ``project_id``, ``user_id``, ``start_date`` and ``end_date`` (ISO 8601,
UTC) and ``reservations`` (the request's fields; for a stored lease, each
reservation as ``GET /v1/leases/{id}`` shows it, with its ``id``), and once stored
its ``id``. Unlike Blazar, no candidate ``allocations`` are sent: Climate chooses
hosts inside the claim's transaction, after this check. The service answers ``204``
to accept; ``403`` refuses, with the optional ``{"message": ...}`` shown to the
user. Any other answer refuses with a generic message; a service that cannot be
reached, times out or answers 5xx makes the request a 503 (nothing changed; try
again), where Blazar answers 400.
"""

import json

from oslo_log import log as logging
import requests

from climate import exceptions
from climate.common import timeutils
from climate.manager.enforcement import base

LOG = logging.getLogger(__name__)

HOOKS = {'check_create': 'check-create', 'check_update': 'check-update',
         'on_end': 'on-end'}


def lease_payload(lease):
    """A lease as the service receives it: JSON-ready, dates in ISO 8601."""
    payload = {key: value for key, value in lease.items()
               if key not in ('start_date', 'end_date') and value is not None}
    payload['start_date'] = timeutils.ensure_utc(lease['start_date']).isoformat()
    payload['end_date'] = timeutils.ensure_utc(lease['end_date']).isoformat()
    return json.loads(json.dumps(payload, default=str))


class ExternalServiceFilter(base.Filter):
    name = 'ExternalServiceFilter'

    def __init__(self, conf):
        super().__init__(conf)
        base_url = (self.options.external_service_base_endpoint or '').rstrip('/')
        self.endpoints = {}
        for hook, suffix in HOOKS.items():
            explicit = getattr(self.options, f'external_service_{hook}_endpoint')
            url = explicit or (f'{base_url}/{suffix}' if base_url else None)
            if url:
                self.endpoints[hook] = url
        if not self.endpoints:
            raise exceptions.PluginConfigurationError(
                error='ExternalServiceFilter needs [enforcement] '
                      'external_service_base_endpoint or one of its endpoints')

    def _context(self, context, lease):
        nova = getattr(self.conf, 'nova', None)
        return {'user_id': lease.get('user_id') or context.user_id,
                'project_id': lease.get('project_id') or context.project_id,
                'auth_url': getattr(nova, 'auth_url', None) if nova else None,
                'region_name': getattr(nova, 'region_name', None) if nova else None}

    def _post(self, hook, body):
        headers = {'Content-Type': 'application/json'}
        if self.options.external_service_token:
            headers['X-Auth-Token'] = self.options.external_service_token
        return requests.post(self.endpoints[hook], data=json.dumps(body),
                             headers=headers,
                             timeout=self.options.external_service_timeout)

    def _ask(self, hook, body):
        if hook not in self.endpoints:
            return
        try:
            answer = self._post(hook, body)
        except requests.RequestException as exc:
            raise exceptions.PolicyServiceUnavailable(reason=str(exc)) from None
        if answer.status_code == 204:
            return
        if answer.status_code >= 500:
            raise exceptions.PolicyServiceUnavailable(
                reason=f'{self.endpoints[hook]} answered {answer.status_code}')
        message = None
        if answer.status_code == 403:
            try:
                message = answer.json().get('message')
            except (ValueError, AttributeError):
                message = None
        base.refuse(self.name, message or 'The lease was refused by the external '
                                          'usage policy service')

    def check_create(self, context, lease):
        self._ask('check_create', {'context': self._context(context, lease),
                                   'lease': lease_payload(lease)})

    def check_update(self, context, current, lease):
        self._ask('check_update', {'context': self._context(context, lease),
                                   'current_lease': lease_payload(current),
                                   'lease': lease_payload(lease)})

    def on_end(self, context, lease):
        if 'on_end' not in self.endpoints:
            return
        answer = self._post('on_end', {'context': self._context(context, lease),
                                       'lease': lease_payload(lease)})
        if answer.status_code >= 300:
            LOG.warning('The usage policy service answered %s to the end of lease %s',
                        answer.status_code, lease.get('id'))
