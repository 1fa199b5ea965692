import logging
import os
import sys


def _one_blas_thread_for_a_metadata_only_scan(argv: list[str]) -> None:
    """A metadata-only scan does no linear algebra, yet numpy's OpenBLAS starts a thread per core at import,
    and they spin about 0.1 CPU-s each: on 2 cores, CPU taken from the parser and the geocoder's load in a
    scan of 200 files that takes 0.5 s in all (#35). It must be set before numpy is imported; a value the
    user set is kept, and every other command keeps OpenBLAS's default."""
    if argv[:1] == ["scan"] and "--metadata-only" in argv:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


_one_blas_thread_for_a_metadata_only_scan(sys.argv[1:])
from .cli import main  # noqa: E402  (after the environment above)

if __name__ == "__main__":
    code = main()
    # Leave without the interpreter's teardown: freeing the geocoder's ~10,000 GEOS geometries and
    # arrays one by one took 0.2-0.3 s after every scan's last row (issue #18). Everything the
    # command wrote is closed by now; flush what is buffered and exit with its code.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
