"""``climate``: the command-line client (cliff) over :mod:`climate.client`."""
