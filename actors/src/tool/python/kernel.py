# The OKCVM Python kernel: one persistent interpreter per session.
#
# Reads one JSON request per line on stdin ({"code": ..., "timeout": seconds}) and answers one
# JSON line on the original stdout: {"stdout", "stderr", "result", "error", "images"}.
# Variables and imports persist between requests. Lines starting with "!" run in the shell.
# A cell still running at its timeout gets KeyboardInterrupt (the interpreter and its state
# survive). Figures left open by matplotlib, and a PIL image as the cell's value, are saved as
# PNG files under the output folder and listed in "images".
import ast
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import traceback

OUTPUT = os.environ.get("OKCVM_OUTPUT_DIR", "output")
_protocol = sys.stdout
_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
_saved = [0]


def _shell(command):
    done = subprocess.run(command, shell=True, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode:
        sys.stderr.write("(exit code %d)\n" % done.returncode)


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


def _run(code, timeout):
    out, err = io.StringIO(), io.StringIO()
    result, error, images = None, None, []
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
                error = "KeyboardInterrupt: the cell was interrupted at its time limit (%g s); variables defined before that are kept" % timeout
            except BaseException:
                kind, value, tb = sys.exc_info()
                # Drop the kernel's own frames: show the cell's.
                while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
                    tb = tb.tb_next
                error = "".join(traceback.format_exception(kind, value, tb))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        images += _save_figures()
    except Exception as exc:  # a broken figure must not kill the kernel
        error = (error or "") + "\ncould not save a figure: %s" % exc
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "result": result, "error": error, "images": images}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            reply = _run(request.get("code", ""), float(request.get("timeout", 60)))
        except KeyboardInterrupt:
            reply = {"stdout": "", "stderr": "", "result": None, "error": "KeyboardInterrupt", "images": []}
        _protocol.write(json.dumps(reply) + "\n")
        _protocol.flush()


main()
