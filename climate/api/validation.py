"""Request input: the JSON body (content type, syntax, size already checked), JSON
schema validation with messages that name the offending field, and query values.

:func:`check_body` runs before anything decodes a body (Pecan decodes JSON bodies
itself to look for arguments): a body that is not text in its charset, or JSON nested
deeper than ``[api] max_json_depth``, is a 400 there, before any recursive decoder
sees it.

A controller takes its body with :func:`extract`, which checks the body's shape (JSON
types, required keys, lengths, enums) against the schema of its resource
(``climate.api.v1.*_schemas``). What the values mean (dates, host counts, requirements)
is the manager's and the plugins' to check: the API passes them on as sent.
"""

import codecs
import json
import re

import jsonschema
from jsonschema import exceptions as schema_exc

from climate import exceptions
from climate.common import limits

JSON_TYPES = ('application/json',)
_SURROGATE = re.compile('[\ud800-\udfff]')
_QUERY_INT = re.compile('-?[0-9]{1,18}', re.ASCII)
#: Media types whose body Pecan decodes as JSON before any handler runs.
DECODED_BY_PECAN = JSON_TYPES + ('application/javascript',)


def check_body(request, max_depth):
    """400 for a body that is not text in its charset (UTF-8 by default) or, when
    it is JSON, nests arrays and objects more than ``max_depth`` levels deep."""
    raw = request.body
    if not raw:
        return
    charset = request.charset or 'utf-8'
    try:
        raw.decode(charset)
    except UnicodeDecodeError:
        raise exceptions.InvalidInput(
            message=f'The request body is not valid {charset} text.') from None
    except LookupError:
        raise exceptions.InvalidInput(
            message=f"Charset '{limits.quote(charset, 40)}' isn't supported; "
                    f"send UTF-8") from None
    if (request.content_type or '').lower() in DECODED_BY_PECAN and \
            limits.json_depth_exceeds(raw, max_depth):
        raise exceptions.InvalidInput(
            message=f'Malformed JSON body: nested more than {max_depth} levels deep')


def json_body(request):
    """The request's JSON object; an empty body is ``{}`` (as Blazar treats it)."""
    raw = request.body
    if not raw or not raw.strip():
        return {}
    content_type = (request.content_type or '').lower()
    if content_type not in JSON_TYPES:
        raise exceptions.InvalidInput(
            message=f"Content type '{limits.quote(content_type or 'none', 100)}' "
                    f"isn't supported; send application/json")
    try:
        body = json.loads(raw.decode(request.charset or 'utf-8'),
                          parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, LookupError) as exc:
        raise exceptions.InvalidInput(message=f'Malformed JSON body: {exc}') from None
    except RecursionError:
        raise exceptions.InvalidInput(
            message='Malformed JSON body: nested too deeply') from None
    if not isinstance(body, dict):
        raise exceptions.InvalidInput(message='The request body must be a JSON object')
    check_text(body, 'the request body')
    return body


def extract(request, schema):
    """The request's JSON body once ``schema`` accepts it (400 naming the field
    otherwise); an empty body is ``{}``."""
    body = json_body(request)
    validate(schema, body)
    return body


def check_charset(request):
    charset = request.charset
    if not charset:
        return
    try:
        codecs.lookup(charset)
    except LookupError:
        raise exceptions.InvalidInput(
            message=f"Charset '{limits.quote(charset, 40)}' isn't supported; "
                    f"send UTF-8") from None


def _no_constant(name):
    raise ValueError(f'{name} is not a JSON number')


def check_text(value, where):
    """NUL characters (PostgreSQL cannot store them) and lone surrogates (``"\\ud800"``
    in JSON: no database can store them, they are no Unicode text) are refused in
    every string of ``value``."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if '\x00' in item:
                raise exceptions.InvalidInput(
                    message=f'NUL characters are not allowed in {where}')
            if _SURROGATE.search(item):
                raise exceptions.InvalidInput(
                    message=f'Unpaired surrogate escapes (\\ud800-\\udfff) are not '
                            f'allowed in {where}')
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def field_path(path):
    """``['reservations', 0, 'min']`` → ``reservations[0].min``."""
    text = ''
    for part in path:
        if isinstance(part, int):
            text += f'[{part}]'
        else:
            text += f'.{part}' if text else str(part)
    return text


def validate(schema, body, validator_cls=jsonschema.Draft202012Validator):
    """Raise a 400 naming the first field of ``body`` that ``schema`` refuses.

    A (sub)schema may carry ``description_error``, the wording of its refusal, or
    ``raises``, the Climate exception to raise instead (Blazar's own message).
    """
    errors = list(validator_cls(schema).iter_errors(body))
    if not errors:
        return
    # (best_match would descend into anyOf branches at once; do it by hand below)
    error = max(errors, key=schema_exc.relevance)
    if isinstance(error.schema, dict) and 'raises' in error.schema:
        raise error.schema['raises']()
    # Descend into anyOf/oneOf to the branch closest to what was sent, keeping the
    # outermost schema's own wording (``description_error``) when it has one.
    message = _own_message(error)
    while error.context and message is None:
        error = max(error.context, key=schema_exc.relevance)
        message = _own_message(error)
    path = list(error.absolute_path)
    if error.validator == 'required' and message is None:
        missing = [name for name in error.validator_value
                   if name not in (error.instance or {})]
        raise exceptions.MissingParameter(param=field_path(path + missing[:1]))
    where = field_path(path) or 'the request body'
    raise exceptions.InvalidInput(
        message=f'Invalid value for {where}: '
                f'{limits.quote(message or _describe(error), 300)}')


def _own_message(error):
    if isinstance(error.schema, dict):
        return error.schema.get('description_error')
    return None


def _describe(error):
    if error.validator == 'additionalProperties' and not error.absolute_path:
        return error.message
    if error.validator == 'maxLength':
        return f'longer than {error.validator_value} characters'
    if error.validator == 'minLength':
        return 'must not be empty' if error.validator_value == 1 else error.message
    if error.validator == 'propertyNames':
        return error.message
    return error.message


def truthy(value):
    """Blazar's reading of ``?detail=…``/``?all=…``: present with any non-empty
    value (so ``detail=False`` is true, as there)."""
    return bool(value)


def query_int(request, name, minimum=0, maximum=None):
    value = request.GET.get(name)
    if value is None:
        return None
    try:
        if not _QUERY_INT.fullmatch(value):
            raise ValueError(value)
        number = int(value)
    except ValueError:
        raise exceptions.InvalidInput(
            message=f'Invalid value for {name}: {limits.short_repr(value, 40)} is not an '
                    f'integer') from None
    if number < minimum:
        raise exceptions.InvalidInput(
            message=f'Invalid value for {name}: must be at least {minimum}')
    if maximum is not None and number > maximum:
        raise exceptions.InvalidInput(
            message=f'Invalid value for {name}: must be at most {maximum}')
    return number
