# boston: never ends
while True:
    pass
