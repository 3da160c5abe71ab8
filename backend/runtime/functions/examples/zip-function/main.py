"""Example of a function shipped as a ZIP of several modules.

Zip this folder's files (``cd zip-function && zip -r ../function.zip .``) and run
the runtime with FUNCTION_ZIP=/path/function.zip HANDLER_FUNCTION=main.handler.
"""
from datetime import datetime

from window import TimeWindow


def handler(input, context):
    now = datetime.strptime(input['timestamp'], '%Y-%m-%d %H:%M:%S.%f')
    queue = context.env.setdefault('queue', TimeWindow(seconds=60))
    queue.add(now, input.get('app-queue_size', 0))
    throughput = context.env.setdefault('throughput', TimeWindow(seconds=60))
    throughput.add(now, input.get('app-throughput', 0.0))
    return {
        'pod': input.get('pod'),
        'moving_average_queue_size': queue.mean(),
        'moving_average_throughput': throughput.mean(),
        'max_queue_size_60s': queue.max(),
    }
