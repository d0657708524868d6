"""oslo.policy defaults, in code: one module per resource.

``list_rules`` is the ``oslo.policy.policies`` entry point (``climate``) that
oslopolicy-sample-generator reads; ``etc/policy.yaml.sample`` is generated from it.
Rule names are ``climate:<resource>:<action>``; each also honours Blazar's name
(``blazar:<resource>:<action>``) in an operator's policy file, as a deprecated alias.
"""

import itertools

from climate.policies import availability
from climate.policies import base
from climate.policies import leases
from climate.policies import oshosts
from climate.policies import usage


def list_rules():
    return list(itertools.chain(base.list_rules(), leases.list_rules(),
                                oshosts.list_rules(),
                                availability.list_rules(), usage.list_rules()))
