# boston: read another student's submission with a raw system call
import os
fd = os.open({{OTHER}}, os.O_RDONLY)
print(os.read(fd, 200))
