"""Training code written for the tests that knows nothing of trainscope (DESIGN §8): argparse
scripts that print their metrics, one that uses the SDK, one that crashes, one that ignores
signals, and a function whose one parameter is a pydantic model."""
