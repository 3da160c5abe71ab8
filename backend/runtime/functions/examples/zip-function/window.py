"""A time window of samples, imported by main.py from the same ZIP."""
from collections import deque
from datetime import timedelta


class TimeWindow(object):
    def __init__(self, seconds):
        self.span = timedelta(seconds=seconds)
        self.samples = deque()

    def add(self, when, value):
        self.samples.append((when, value))
        while self.samples and self.samples[0][0] <= when - self.span:
            self.samples.popleft()

    def mean(self):
        total = 0.0
        for _, value in self.samples:
            total += value
        return total / len(self.samples) if self.samples else None

    def max(self):
        return max((v for _, v in self.samples), default=None)
