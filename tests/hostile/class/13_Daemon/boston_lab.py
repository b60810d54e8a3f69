# boston: leave a daemon behind that outlives the run
import os, time
from labgrade_runtime.kernel.state import JOB
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(os.path.join(JOB.spec.out_dir, "daemon.pid"), "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(600)
    os._exit(0)
time.sleep(1)
