"""oslo.messaging plumbing: transports, RPC servers and clients, notifications.

Production uses RabbitMQ (``[DEFAULT] transport_url``); the embedded quickstart and unit
tests use the in-process ``fake://`` transport. Servers always use the threading
executor: Climate does not use eventlet.
"""

import base64
import zlib

from oslo_config import cfg
import oslo_messaging as messaging

_TRANSPORTS = {}
# Exceptions from these modules are re-raised on the calling side as the same class.
ALLOWED_EXMODS = ['climate.exceptions', 'climate.compute.exceptions']


def get_transport(conf=cfg.CONF, url=None):
    """The RPC transport for ``url`` (default: ``[DEFAULT] transport_url``), cached."""
    key = (id(conf), url)
    if key not in _TRANSPORTS:
        _TRANSPORTS[key] = messaging.get_rpc_transport(
            conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS)
    return _TRANSPORTS[key]


def get_notification_transport(conf=cfg.CONF, url=None):
    return messaging.get_notification_transport(conf, url=url)


def get_server(target, endpoints, conf=cfg.CONF, transport=None, serializer=None):
    """An RPC server; oslo.messaging's default executor is the threading one."""
    transport = transport or get_transport(conf)
    return messaging.get_rpc_server(transport, target, endpoints, serializer=serializer)


def get_client(target, conf=cfg.CONF, transport=None, serializer=None, timeout=None):
    transport = transport or get_transport(conf)
    return messaging.get_rpc_client(transport, target, serializer=serializer,
                                    timeout=timeout)


def cleanup():
    """Close every cached transport (at process exit and between tests)."""
    while _TRANSPORTS:
        _, transport = _TRANSPORTS.popitem()
        transport.cleanup()


#: Bytes of text a packed page is unpacked into at a time (see :func:`unpack_chunks`).
UNPACK_CHUNK = 64 * 1024


def pack(data):
    """``data`` (bytes) compressed for a message: zlib, then base64 (messages are
    JSON).

    A listing page (~1.5 MB of JSON at 1,000 leases) shrinks about tenfold. Sent as
    text, its quotes were escaped on the way out and unescaped on the way in twice
    each (oslo.messaging's envelope, then kombu's), and RabbitMQ carried ~3 MB: that
    cost more than compressing it (benchmarks/listing.py)."""
    return _packed((data,))


def pack_pieces(pieces):
    """``(packed, size)``: the UTF-8 text of ``pieces`` (strings) joined, packed as
    :func:`pack` does, and its length in bytes, without joining them first."""
    size = 0

    def encoded():
        nonlocal size
        for piece in pieces:
            data = piece.encode('utf-8')
            size += len(data)
            yield data
    packed = _packed(encoded())
    return packed, size


def _packed(chunks):
    deflater = zlib.compressobj(1)
    out = [deflater.compress(chunk) for chunk in chunks]
    out.append(deflater.flush())
    return base64.b64encode(b''.join(out)).decode('ascii')


def unpack_chunks(packed):
    """The bytes :func:`pack` packed, in pieces of at most :data:`UNPACK_CHUNK`: the
    API streams a page, never holding it whole (whole 1.5 MB copies in its worker
    threads left it ~100 MB larger after concurrent listings)."""
    inflater = zlib.decompressobj()
    pending = base64.b64decode(packed)
    while pending:
        chunk = inflater.decompress(pending, UNPACK_CHUNK)
        pending = inflater.unconsumed_tail
        if chunk:
            yield chunk
    rest = inflater.flush()
    if rest:
        yield rest


def unpack(packed):
    """The bytes :func:`pack` packed, whole."""
    return b''.join(unpack_chunks(packed))
