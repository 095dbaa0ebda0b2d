"""A script that exits before it parses (e.g. it checks for a GPU first)."""

import argparse
import sys

sys.exit("no GPU here")
argparse.ArgumentParser().parse_args()
