"""``python -m invertibility.jobs CALL.json``: run one job alone (see :mod:`.call`)."""

import argparse

from .call import rerun


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m invertibility.jobs",
        description="Run one pipeline job again, alone, from the call file written beside its "
        "log (logs/<rule>/.../<name>.call.json). It rewrites that job's outputs.",
    )
    parser.add_argument("call", help="a job's .call.json file")
    rerun(parser.parse_args(argv).call)


if __name__ == "__main__":
    main()
