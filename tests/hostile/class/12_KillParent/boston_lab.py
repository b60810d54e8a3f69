# boston: kill the process that runs me
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
