"""A script that crashes before it reads any option."""

import argparse

import a_module_that_does_not_exist  # noqa: F401

argparse.ArgumentParser().parse_args()
