#!/usr/bin/env python3
"""imgfleet function runtime: the Python side.

A long-lived child of the Node runtime, one per context (input key), so a
handler that hangs for one key is killed without touching another's. It loads
the user's module, keeps its Context whose ``env`` stays a live dict of Python
objects (handlers keep datetimes, deques and tuples there), and calls
``handler(input, context)`` on request.

Protocol: one JSON object per line. Requests arrive on the original stdin,
replies leave on the original stdout. Both descriptors are moved aside at
start-up and fd 0/1 are pointed at /dev/null and stderr, so a handler's
print() or input() can never corrupt the protocol.

The input arrives as the raw JSON text read from Redis and is decoded here,
so ``12.0`` reaches the handler as a float. The result is encoded here too,
with ``allow_nan=False``: NaN is not JSON and must not reach the dashboard.

Limits (see handler-limits.ts): the process's address space is capped at
HANDLER_MEMORY_MB before the user's module loads, so an allocation past it
raises MemoryError in the handler. os.fork() raises: a copy of this process
would read the same requests and answer later calls with its own
context.env. What a fork the guard cannot see leaves behind (libc's fork
through ctypes, a program left running) is killed after the call, and the
call is reported; a copy that returns here exits before it can answer.

Standard library only (handlers may import what the image or REQUIREMENTS add).
"""
import gc
import importlib
import importlib.util
import json
import os
import resource
import signal
import sys
import traceback
from datetime import datetime

MiB = 1024 * 1024
# Set in main(): a process with another pid is a copy made by a fork.
_BRIDGE_PID = None
# HANDLER_MEMORY_MB, as Node passes it; 0: no limit.
_MEMORY_MB = 0
# After a MemoryError, a process still using this share of its limit is replaced: its env holds the memory.
_RESTART_SHARE = 0.75


def _take_protocol_streams():
    proto_in = os.fdopen(os.dup(0), 'r', encoding='utf-8', newline='\n')
    proto_out = os.fdopen(os.dup(1), 'w', encoding='utf-8', newline='\n')
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, 'r', encoding='utf-8')
    sys.stdout = sys.stderr
    return proto_in, proto_out


def _prctl(option, value):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(option, value, 0, 0, 0)


def _die_with_parent():
    # If Node is SIGKILLed nobody closes our stdin while a handler hangs;
    # ask the kernel to kill us with our parent instead (Linux only).
    try:
        PR_SET_PDEATHSIG = 1
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died before prctl took effect. Compare with the
        # pid Node passed rather than with 1: in a container Node *is* pid 1.
        expected = os.environ.get('IMGFLEET_RUNTIME_PID')
        if expected and os.getppid() != int(expected):
            os._exit(1)
    except Exception:
        pass


def _limit_memory(memory_mb):
    """Caps the address space (RLIMIT_AS) at HANDLER_MEMORY_MB, never above a hard limit already set."""
    if memory_mb <= 0:
        return
    wanted = memory_mb * MiB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _guard_processes():
    """The kernel is to end this process first should the pod run out of memory, not the runtime;
    and orphans of what a handler starts become this process's children, so the check after each call sees them."""
    try:
        with open('/proc/self/oom_score_adj', 'w') as f:
            f.write('1000')
    except OSError:
        pass
    try:
        PR_SET_CHILD_SUBREAPER = 36
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    except Exception:
        pass


class ForkRefused(RuntimeError):
    """What os.fork() raises in a handler."""


def _refuse_fork(*_args, **_kwargs):
    raise ForkRefused(
        'os.fork() is not allowed in a handler: the copy would answer later calls with its own '
        'context.env (use threads, or subprocess to run a program)')


def _install_fork_guard():
    # subprocess starts programs without os.fork (fork_exec, posix_spawn): it keeps working.
    for name in ('fork', 'forkpty'):
        if hasattr(os, name):
            setattr(os, name, _refuse_fork)


def _run_user_code(fn, *args):
    """Runs handler or module code; a copy made by a fork the guard did not see ends here, silently."""
    try:
        return fn(*args)
    finally:
        if os.getpid() != _BRIDGE_PID:
            os._exit(0)


class Context(object):
    """The ``context`` argument, with the attributes and methods of lucasmsp/serverless:redis."""

    host = None
    port = None
    input_key = None
    output_key = None
    last_execution = None
    env = None

    def __init__(self, host, port, input_key, output_key, function_getmtime):
        self.host = host
        self.port = port
        self.input_key = input_key
        self.output_key = output_key
        # '%Y-%m-%d %H:%M:%S' of the module's mtime, as the course runtime gives it.
        self.function_getmtime = function_getmtime
        self.last_execution = None
        self.env = {}

    def confirm_execution(self):
        """Called by the runtime after every call, as the course runtime did."""
        self.last_execution = datetime.now()

    def set_env(self, new):
        self.env = new

    @staticmethod
    def help():
        print(_HELP)

    def __repr__(self):
        return 'Context(input_key=%r, output_key=%r, last_execution=%r)' % (
            self.input_key, self.output_key, self.last_execution)


_HELP = """
        :param host: Address running Redis server
        :param port: Port running Redis server
        :param input_key: input key of Redis
        :param output_key: output key to store data in Redis
        :param function_getmtime: Timestamp of last update in usermodule file
        :param last_execution: Timestamp of last confirmed execution (and store)
        :param env: Dictionary to be used as context
        """


def _is_under(path, root):
    try:
        return os.path.commonpath([os.path.realpath(path), root]) == root
    except ValueError:
        return False


class Bridge(object):
    def __init__(self):
        self.handler = None
        self.root = None
        self.module_name = None
        self.context = None

    def _forget_modules(self, root):
        """Drops the user's modules from sys.modules so a reload re-reads them.

        Only modules whose file lives under the function's folder go: purging
        the standard library would give the env's deques and datetimes a
        different class from fresh ones.
        """
        for name, module in list(sys.modules.items()):
            path = getattr(module, '__file__', None)
            if path and _is_under(path, root):
                del sys.modules[name]

    def load(self, msg):
        root = os.path.realpath(msg['root'])
        file = msg['file']
        module_name = msg['module']
        function = msg['function']
        single_file = msg.get('single_file', False)

        old_root = self.root
        if old_root is not None:
            self._forget_modules(old_root)
            if old_root in sys.path:
                sys.path.remove(old_root)
        if self.module_name is not None:
            sys.modules.pop(self.module_name, None)
        sys.path.insert(0, root)
        importlib.invalidate_caches()
        try:
            if single_file:
                # Loaded from its path under its own name, unless that name is
                # taken (a file called json.py must not replace the real json).
                name = module_name
                if name in sys.modules:
                    name = '_imgfleet_function_' + module_name
                spec = importlib.util.spec_from_file_location(name, file)
                if spec is None or spec.loader is None:
                    raise ImportError('cannot load %s' % file)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                try:
                    _run_user_code(spec.loader.exec_module, module)
                except BaseException:
                    sys.modules.pop(name, None)
                    raise
            else:
                name = module_name
                module = _run_user_code(importlib.import_module, module_name)
            handler = getattr(module, function, None)
            if handler is None:
                raise AttributeError('module %r has no function %r' % (module_name, function))
            if not callable(handler):
                raise TypeError('%s.%s is not callable' % (module_name, function))
        except BaseException as exc:
            # Keep serving the previous version: a typo in an update should not
            # stop a working function.
            sys.path.remove(root)
            if old_root is not None:
                sys.path.insert(0, old_root)
            return {'ok': False, 'kind': 'load', 'error': _describe(exc), 'detail': traceback.format_exc()}
        self.handler = handler
        self.root = root
        self.module_name = name
        return {'ok': True}

    def call(self, msg):
        if self.handler is None:
            return {'ok': False, 'kind': 'load', 'error': 'no function loaded'}
        c = msg['context']
        ctx = self.context
        if ctx is None:
            ctx = self.context = Context(
                c['host'], c['port'], c['input_key'], c['output_key'], c['function_getmtime'])
        else:
            ctx.host = c['host']
            ctx.port = c['port']
            ctx.input_key = c['input_key']
            ctx.output_key = c['output_key']
            ctx.function_getmtime = c['function_getmtime']
        try:
            data = json.loads(msg['input'])
        except ValueError as exc:
            return {'ok': False, 'kind': 'invalid_input', 'error': 'input is not JSON: %s' % exc}

        failure = None
        try:
            result = _run_user_code(self.handler, data, ctx)
        except BaseException as exc:
            failure = _failure(exc, 'exception')
        finally:
            Context.confirm_execution(ctx)
            _end_of_call_output()
        if failure is not None:
            # Out of the except clause: the traceback, and the handler's locals with it, are let go.
            return _after_memory_error(failure)

        try:
            if not result:
                return {'ok': True, 'output': None}
            output = json.dumps(result, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            return {'ok': False, 'kind': 'invalid_output',
                    'error': 'result is not JSON: %s' % _describe(exc)}
        except BaseException as exc:
            failure = _failure(exc, 'invalid_output')
        if failure is not None:
            return _after_memory_error(failure)
        return {'ok': True, 'output': output}


def _failure(exc, kind):
    """The reply for an exception out of the user's code; MemoryError and a refused fork have kinds of their own."""
    reply = {'ok': False, 'kind': kind, 'error': _describe(exc), 'detail': traceback.format_exc()}
    if isinstance(exc, ForkRefused):
        reply['kind'] = 'fork'
    elif isinstance(exc, MemoryError):
        reply['kind'] = 'memory'
        if _MEMORY_MB > 0:
            reply['error'] = 'MemoryError: the handler went over its memory limit of %d MiB (HANDLER_MEMORY_MB)%s' % (
                _MEMORY_MB, ': %s' % exc if str(exc) else '')
    return reply


def _after_memory_error(reply):
    """After a MemoryError, asks to be replaced when the memory stays taken.

    The failed allocation gave its memory back, unless what fills the limit is kept (in context.env, a
    global): then every later call would fail the same way, and only a new process gives it back.
    """
    if reply['kind'] != 'memory' or _MEMORY_MB <= 0:
        return reply
    gc.collect()
    used = _address_space()
    reply['restart'] = used is not None and used > _RESTART_SHARE * _MEMORY_MB * MiB
    return reply


def _address_space():
    """VmSize in bytes: what RLIMIT_AS counts."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmSize:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _child_pids():
    """This process's children: from /proc/self/task/*/children, or by scanning /proc where the kernel lacks it."""
    me = os.getpid()
    pids = set()
    try:
        for tid in os.listdir('/proc/%d/task' % me):
            with open('/proc/%d/task/%s/children' % (me, tid)) as f:
                pids.update(int(p) for p in f.read().split())
        return pids
    except OSError:
        pids.clear()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[1] == me:
                pids.add(int(entry))
    return pids


def _stat(pid):
    """(command, ppid, pgid) of a process, or None once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(')') + 2:].split()
    return text[text.index('(') + 1:text.rindex(')')], int(fields[1]), int(fields[2])


def _stop_left_children():
    """Kills and reaps every process the call left (a fork, a program still running); returns what they were."""
    left = []
    # Orphans of a killed child come back to us (we are their subreaper): look again until none is left.
    for _round in range(10):
        pids = sorted(_child_pids())
        if not pids:
            break
        for pid in pids:
            stat = _stat(pid)
            left.append('pid %d %s' % (pid, stat[0] if stat else '?'))
            try:
                if stat and stat[2] == pid:
                    os.killpg(pid, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return left


def _refuse_leftovers(reply):
    left = _stop_left_children()
    if not left:
        return reply
    return {'ok': False, 'kind': 'fork',
            'error': 'the handler left child processes running (%s); they were killed: a handler must not fork, '
                     'nor leave processes running when it returns' % ', '.join(dict.fromkeys(left))}


def _end_of_call_output():
    # Marks where this call's output ends (see handler-output.ts): the output
    # and the replies travel on different pipes, which are not ordered.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os.write(2, b'\x1e\n')


def _describe(exc):
    text = str(exc)
    return '%s: %s' % (type(exc).__name__, text) if text else type(exc).__name__


def main():
    global _BRIDGE_PID, _MEMORY_MB
    # Node owns our lifetime: Ctrl-C in a terminal reaches the whole process
    # group and must not kill a handler halfway; Node stops us itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    _die_with_parent()
    _BRIDGE_PID = os.getpid()
    _MEMORY_MB = int(os.environ.get('IMGFLEET_HANDLER_MEMORY_MB') or 0)
    _guard_processes()
    _install_fork_guard()
    proto_in, proto_out = _take_protocol_streams()
    # Last, once the bridge itself is set up: from here on every allocation counts against the handler's limit.
    _limit_memory(_MEMORY_MB)

    def send(obj):
        proto_out.write(json.dumps(obj) + '\n')
        proto_out.flush()

    bridge = Bridge()
    ops = {'load': bridge.load, 'call': bridge.call}
    send({'ready': True, 'pid': os.getpid(), 'python': sys.version.split()[0]})
    for line in proto_in:
        if not line.strip():
            continue
        msg_id = None
        try:
            msg = json.loads(line)
            msg_id = msg.get('id')
            op = ops.get(msg.get('op'))
            reply = op(msg) if op else {'ok': False, 'kind': 'crash', 'error': 'unknown op %r' % msg.get('op')}
            reply = _refuse_leftovers(reply)
        except Exception as exc:
            reply = {'ok': False, 'kind': 'crash', 'error': 'bridge error: %s' % _describe(exc),
                     'detail': traceback.format_exc()}
        reply['id'] = msg_id
        send(reply)


if __name__ == '__main__':
    main()
