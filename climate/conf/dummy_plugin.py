"""Options of the dummy resource plugin ([dummy_plugin] section; tests and benchmarks)."""

from oslo_config import cfg

dummy_group = cfg.OptGroup('dummy_plugin', title='The dummy resource plugin (testing)')

dummy_opts = [
    cfg.StrOpt('journal', help='File to which every plugin action is appended as JSON.'),
    cfg.DictOpt('fail_actions', default={},
                help='action:N fails the first N attempts of the action for each '
                     'reservation with a transient error; action:always fails every '
                     'attempt with a permanent one.'),
    cfg.FloatOpt('action_delay', default=0.0, min=0.0,
                 help='Seconds each action takes.'),
    cfg.DictOpt('action_delays', default={},
                help='action:seconds makes that action take so long, instead of '
                     'action_delay (on_start:1.5 makes only starts slow).'),
]


def register_opts(conf):
    conf.register_group(dummy_group)
    conf.register_opts(dummy_opts, group=dummy_group)


def list_opts():
    return {dummy_group: dummy_opts}
