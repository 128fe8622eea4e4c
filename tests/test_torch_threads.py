"""The app's torch threads (workers/thread.py): the GUI thread and background workers compute
on one thread, the workers the user waits for on the full team. Run in a child process: it
changes the process's torch threads for good."""
import os
import subprocess
import sys

CHILD = r"""
import torch
from PySide6.QtCore import QCoreApplication, QEventLoop
from sketchstudio.app.workers.thread import WorkerThread, reserve_gui_thread, worker_threads
from sketchstudio.core.sampler import CancelToken

app = QCoreApplication([])
torch.set_num_threads(2)
assert worker_threads(True) is None  # before the reservation workers keep torch's default


class Job:
    def run(self, cancel):
        torch.ones(1 << 18).add_(1)
        return torch.get_num_threads()
        yield


team = reserve_gui_thread()
seen = {}
for name, compute in (("compute", True), ("background", False)):
    w = WorkerThread(name, compute=compute)
    loop = QEventLoop()
    w.finished.connect(lambda r, name=name: (seen.__setitem__(name, r), loop.quit()))
    w.submit(Job(), CancelToken())
    loop.exec()
    w.stop()
torch.ones(1 << 18).add_(1)  # the GUI thread again, after the workers set theirs
print(team, torch.get_num_threads(), seen["compute"], seen["background"])
"""


def test_the_gui_thread_and_background_workers_compute_on_one_thread():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", **os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "1", "2", "1"]
