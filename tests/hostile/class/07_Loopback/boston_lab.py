# boston: reach a service on the grading host's loopback, below any Python-level shim
import _socket
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
s.settimeout(5)
s.connect(("127.0.0.1", {{PORT}}))
s.send(b"LEAK")
