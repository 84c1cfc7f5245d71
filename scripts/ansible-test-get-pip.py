"""Stand-in for the pip bootstrap script ansible-test downloads from a host this environment
cannot reach. scripts/sanity puts it where ansible-test caches that script. It does the same
job: bootstrap pip into the virtualenv with the standard library's ensurepip, then let that pip
install the packages ansible-test asked for (from PyPI, which is reachable).

ansible-test runs pip with PIP_CONFIG_FILE=/dev/null, so the machine's pip settings do not apply:
the bootstrap pip is told to trust the system CA store (the one the OpenSSL build uses). The pip
release ansible-test then asks for (24.2+) uses the system store by itself (truststore)."""
import ensurepip
import os
import ssl
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]  # get-pip's own flags
paths = ssl.get_default_verify_paths()
cafile = next((p for p in (paths.cafile, paths.openssl_cafile) if p and os.path.exists(p)), None)
cert = ["--cert", cafile] if cafile else []
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *cert, *args]))
