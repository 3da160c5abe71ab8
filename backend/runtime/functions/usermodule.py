"""imgfleet's default function, in the course's style (TP3, task 1).

Derived figures from one host's metrics snapshot:
- percentage_outgoing_bytes: bytes sent / (sent + received) x 100
- percentage_memory_caching: (cached + buffers) / total x 100
- moving_average_cpu_percent-N: mean of cpu_percent-N over the last 60 s of
  snapshots, by the snapshots' own timestamps (a sample stays while its
  time is after now - 60 s), history kept in context.env as deques.

It is the twin of backend/src/runtime/default-handler.ts and must give the
same numbers: the tests feed both the same snapshots and compare.
Standard library only.
"""
import math
import re
from collections import deque
from datetime import datetime, timedelta, timezone

WINDOW = timedelta(seconds=60)
TIMESTAMP_FORMAT = '%Y-%m-%d %H:%M:%S.%f'
CPU_KEY = re.compile(r'cpu_percent-([0-9]+)')


def _number(input, key):
    value = input.get(key)
    # bool is an int in Python but not a number in the JSON the agent writes.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _snapshot_time(value):
    """The snapshot's own time as a naive UTC datetime (the agent writes UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)
    if isinstance(value, str):
        for fmt in (TIMESTAMP_FORMAT, '%Y-%m-%d %H:%M:%S'):
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                pass
        try:
            parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
            return parsed
        except ValueError:
            pass
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _mean(samples):
    # A plain left-to-right sum, as the JS twin does: Python 3.12's sum()
    # compensates rounding and could differ from it in the last digit.
    total = 0.0
    for _, value in samples:
        total += value
    return total / len(samples)


def handler(input, context):
    if not isinstance(input, dict):
        return None
    output = {}

    sent = _number(input, 'net_io_counters_eth0-bytes_sent')
    recv = _number(input, 'net_io_counters_eth0-bytes_recv')
    if sent is not None and recv is not None:
        output['percentage_outgoing_bytes'] = (sent / (sent + recv)) * 100 if sent + recv > 0 else 0

    total = _number(input, 'virtual_memory-total')
    cached = _number(input, 'virtual_memory-cached')
    buffers = _number(input, 'virtual_memory-buffers')
    if total is not None and total > 0 and cached is not None and buffers is not None:
        output['percentage_memory_caching'] = ((cached + buffers) / total) * 100

    now = _snapshot_time(input.get('timestamp'))
    history = context.env.setdefault('cpu_history', {})
    for key, value in input.items():
        match = CPU_KEY.fullmatch(key)
        if match is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        samples = history.setdefault(match.group(1), deque())
        samples.append((now, value))
        # Keep exactly the snapshots of the last 60 s, this one included.
        while samples and samples[0][0] <= now - WINDOW:
            samples.popleft()
        output['moving_average_cpu_percent-' + match.group(1)] = _mean(samples)

    context.env['last_timestamp'] = now
    return output or None
