# shellcheck shell=bash
# Shared by the test scripts that start servers on free loopback ports (sourced, not run).
#
#   free_port   prints a free loopback port that no earlier free_port of this run returned
#
# A port is probed by binding port 0 and closing the socket, so the kernel may hand the same port
# to the next probe: with a dozen ports a run, two servers of one test were given one port about
# once in a few hundred runs. The ports handed out are kept in $WORK/.ports (WORK must be set)
# and a port already given is probed again (bounded). A port taken by another process between the
# probe and the bind is still possible; the callers that can retry (start_redis) do.
free_port() {
  /usr/bin/python3 - "${WORK:?free_port needs WORK}/.ports" <<'PY'
import os, socket, sys
path = sys.argv[1]
used = set(open(path).read().split()) if os.path.exists(path) else set()
for _ in range(100):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    if port not in used:
        with open(path, "a") as f:
            f.write(port + "\n")
        print(port)
        sys.exit(0)
sys.exit("free_port: no new free port after 100 probes")
PY
}
