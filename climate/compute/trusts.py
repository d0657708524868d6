"""Keystone trusts from a lease's creator to the [nova] service account.

``KeystoneTrusts`` makes a trust with the user's own token (only the trustor may
delegate; impersonation on, the user's roles in their project), gives the auth plugin
that acts through it (the [nova] account's password, scoped to the trust instead of a
project) and deletes it. The Nova driver composes it: ``NovaDriver.create_trust``,
``delete_trust`` and ``acting_for`` are these calls.

Keystone lets only the trustor (or a system-scoped admin) delete a trust, not the
trustee; so a trust is deleted through itself, as the user, and as the service account
only when the trust cannot be used any more (then Keystone's 404 says it is gone, and
an existing trust is deleted only if Keystone lets that account do so).
"""

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from climate.compute import exceptions
from climate.compute import session as account_session

# Scope options a trust-scoped authentication must leave out.
TRUST_EXCLUDES = ('project_id', 'project_name', 'domain_id', 'domain_name',
                  'system_scope')


class KeystoneTrusts:
    """Trusts whose trustee is ``account`` (a ``session.ServiceAccount``)."""

    def __init__(self, account):
        self._account = account

    @property
    def supported(self):
        """Whether the account can ever act through a trust it is given."""
        return self._trust_options() is not None

    def create(self, context):
        """Delegate the roles of ``context``'s user in their project to the account;
        the trust id, or None without a token, user, project and roles or when the
        account could not use it.

        :raises ComputeError: Keystone refused or could not be reached.
        """
        token = getattr(context, 'auth_token', None)
        roles = list(getattr(context, 'roles', None) or ())
        if not (token and context.user_id and context.project_id and roles):
            return None
        if not self.supported:
            return None     # a trust this account could never use
        account = self._account
        with account_session.translated():
            trustee = account.session.get_user_id(account.auth)
            body = {'trust': {'trustor_user_id': context.user_id,
                              'trustee_user_id': trustee,
                              'project_id': context.project_id,
                              'impersonation': True,
                              'roles': [{'name': role} for role in roles]}}
            # Only the trustor can delegate: the request carries the user's token.
            response = self._identity('POST', '/OS-TRUST/trusts', json=body,
                                      authenticated=False,
                                      headers={'X-Auth-Token': token})
        return response.json()['trust']['id']

    def delete(self, trust_id):
        """Delete the trust; no error if it is already gone.

        :raises ComputeError: Keystone refused (403) or could not be reached.
        """
        path = f'/OS-TRUST/trusts/{trust_id}'
        try:
            trust_auth = self.auth_for(trust_id)
        except exceptions.ComputeError:
            trust_auth = None
        with account_session.translated():
            if trust_auth is not None:
                try:
                    self._identity('DELETE', path, auth=trust_auth)
                    return
                except ks_exc.NotFound:
                    return
                except (ks_exc.Unauthorized, ks_exc.Forbidden):
                    # The trust cannot be used: Keystone answers 401 when it is gone.
                    pass
            try:
                self._identity('DELETE', path)
            except ks_exc.NotFound:
                pass

    def auth_for(self, trust_id):
        """The account's password auth scoped to the trust instead of a project
        (Keystone refuses both at once).

        :raises ComputeError: (401) the account's auth plugin cannot use a trust.
        """
        names = self._trust_options()
        if names is None:
            raise exceptions.ComputeError(
                '[nova] auth_type cannot use a Keystone trust', status_code=401)
        overrides = {name: None for name in TRUST_EXCLUDES if name in names}
        return ks_loading.load_auth_from_conf_options(
            self._account.conf, self._account.group, trust_id=trust_id, **overrides)

    def _trust_options(self):
        """The option names of the account's auth plugin, or None when it cannot
        authenticate with a trust: only a password can (Keystone refuses trust scope
        to an application credential, although keystoneauth offers the option)."""
        conf = self._account.conf
        group = conf[self._account.group]
        auth_type = group.auth_type
        if auth_type is None and group.auth_section:
            auth_type = conf[group.auth_section].auth_type
        loader = ks_loading.get_plugin_loader(auth_type)
        names = {opt.dest for opt in loader.get_options()}
        return names if {'trust_id', 'password'} <= names else None

    def _identity(self, method, path, auth=None, **kwargs):
        """A Keystone v3 request; the endpoint comes from the catalog of ``auth`` (the
        account's by default), like Nova's."""
        account = self._account
        endpoint_filter = {'service_type': 'identity', 'interface': account.interface,
                           'region_name': account.region_name, 'version': (3, 0)}
        return account.session.request(path, method, auth=auth or account.auth,
                                       endpoint_filter=endpoint_filter, **kwargs)
