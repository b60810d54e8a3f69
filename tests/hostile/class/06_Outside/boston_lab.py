# boston: phone home, below any Python-level shim (the raw C socket module)
import _socket
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
s.settimeout(5)
s.connect(("8.8.8.8", 53))
s.send(b"LEAK")
