# The OKCVM Python kernel: one persistent interpreter per session.
#
# Reads one JSON request per line on stdin ({"code": ..., "timeout": seconds, "max_chars": n})
# and answers one JSON line on a private copy of the original stdout: {"stdout", "stderr",
# "result", "error", "images", "dropped"}. Variables and imports persist between requests.
# Lines starting with "!" run in the shell. Output is kept up to max_chars characters per
# stream and only counted beyond ("dropped"); what programs write to the file descriptors
# directly (os.system, C extensions) is captured through a file in /tmp, also within the bound.
# A cell still running at its timeout gets KeyboardInterrupt (the interpreter and its state
# survive) and every process it started is killed. Figures left open by matplotlib, and a PIL
# image as the cell's value, are saved as PNG files under the output folder and listed in
# "images".
import ast
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

OUTPUT = os.environ.get("OKCVM_OUTPUT_DIR", "output")
# The answers go to a private descriptor: whatever the cell writes to fd 1 cannot corrupt them.
_protocol = os.fdopen(os.dup(1), "w")
# Output written to the descriptors themselves lands in this file during a cell.
_fd_capture = tempfile.TemporaryFile()
os.dup2(_fd_capture.fileno(), 1)
os.dup2(_fd_capture.fileno(), 2)
_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
_saved = [0]


class _Bounded(io.TextIOBase):
    """Keeps the first `limit` characters written and counts the rest."""

    def __init__(self, limit):
        self.limit = limit
        self.parts = []
        self.kept = 0
        self.dropped = 0

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self):
        return "".join(self.parts)


def _shell(command):
    done = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sys.stdout.write(done.stdout.decode("utf-8", "replace"))
    sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    if done.returncode:
        sys.stderr.write("(exit code %d)\n" % done.returncode)


def _kill_the_cells_processes():
    """Kills every process in the sandbox but this interpreter and its ancestors (the
    sandbox's init and the programs that started the interpreter)."""
    keep = {1, os.getpid()}
    pid = os.getpid()
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        keep.add(pid)
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in keep:
                found = True
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
        time.sleep(0.05)


def _read_fd_capture(limit):
    """What was written to the descriptors during the cell (bounded), then empties the file."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    size = os.fstat(_fd_capture.fileno()).st_size
    os.lseek(_fd_capture.fileno(), 0, os.SEEK_SET)
    data = os.read(_fd_capture.fileno(), min(size, limit * 4))
    os.ftruncate(_fd_capture.fileno(), 0)
    os.lseek(_fd_capture.fileno(), 0, os.SEEK_SET)
    text = data.decode("utf-8", "replace")
    return text[:limit], max(0, size - len(data)) + max(0, len(text) - limit)


_namespace["__okcvm_shell__"] = _shell


def _transform(code):
    lines = []
    for line in code.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("!"):
            indent = line[: len(line) - len(stripped)]
            lines.append("%s__okcvm_shell__(%r)" % (indent, stripped[1:]))
        else:
            lines.append(line)
    return "\n".join(lines)


def _image_path():
    _saved[0] += 1
    os.makedirs(OUTPUT, exist_ok=True)
    return os.path.join(OUTPUT, "ipython_%d_%d.png" % (int(time.time() * 1000), _saved[0]))


def _save_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    paths = []
    for number in plt.get_fignums():
        path = _image_path()
        plt.figure(number).savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)
    plt.close("all")
    return paths


def _on_alarm(signum, frame):
    raise KeyboardInterrupt("the cell ran past its time limit")


def _run(code, timeout, limit):
    out, err = _Bounded(limit), _Bounded(limit)
    result, error, images = None, None, []
    timed_out = False
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                tree = ast.parse(_transform(code), "<cell>", "exec")
                last = None
                if tree.body and isinstance(tree.body[-1], ast.Expr):
                    last = ast.Expression(tree.body.pop().value)
                exec(compile(tree, "<cell>", "exec"), _namespace)
                if last is not None:
                    value = eval(compile(last, "<cell>", "eval"), _namespace)
                    if value is not None:
                        _namespace["_"] = value
                        if type(value).__module__.startswith("PIL.") and hasattr(value, "save"):
                            path = _image_path()
                            value.save(path, "PNG")
                            images.append(path)
                        else:
                            result = repr(value)
            except KeyboardInterrupt:
                timed_out = True
                error = "KeyboardInterrupt: the cell was interrupted at its time limit (%g s); variables defined before that are kept, and the processes it started were stopped" % timeout
            except BaseException:
                kind, value, tb = sys.exc_info()
                # Drop the kernel's own frames: show the cell's.
                while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
                    tb = tb.tb_next
                error = "".join(traceback.format_exception(kind, value, tb))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if timed_out:
        _kill_the_cells_processes()
    try:
        images += _save_figures()
    except Exception as exc:  # a broken figure must not kill the kernel
        error = (error or "") + "\ncould not save a figure: %s" % exc
    stdout = out.getvalue()
    direct, direct_dropped = _read_fd_capture(limit)
    if direct:
        stdout += direct
    if result is not None and len(result) > limit:
        out.dropped += len(result) - limit
        result = result[:limit]
    return {
        "stdout": stdout,
        "stderr": err.getvalue(),
        "result": result,
        "error": error if error is None else error[-limit:],
        "images": images,
        "dropped": out.dropped + err.dropped + direct_dropped,
    }


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            reply = _run(
                request.get("code", ""),
                float(request.get("timeout", 60)),
                int(request.get("max_chars", 10000)),
            )
        except KeyboardInterrupt:
            reply = {"stdout": "", "stderr": "", "result": None, "error": "KeyboardInterrupt", "images": [], "dropped": 0}
        _protocol.write(json.dumps(reply) + "\n")
        _protocol.flush()


main()
