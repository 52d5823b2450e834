"""The generated scenario matrix (issue 12): configurations x breaks against
the fake AWS.  tests/integration/matrix.py runs a fixed sample in `make test`;
`make matrix SEED=N COUNT=M [ONLY=break,...] [MODE=organization|per-account]`
runs more.  Modules:

  gen.py        a configuration from a seed (every dimension users vary)
  catalogue.py  THE expectation table (break -> codes, cells, cause, culprit,
                fix), written from README.md, never from running the tool
  breaks.py     how each break is made (as a person would: botocore as a
                named IAM principal, the Account API, or a fake control op)
  world.py      one fake AWS world on a pinned simulated clock, trailkeep runs
  run.py        the flow (plan, apply, deliver, verify, apply again; then each
                break on a fresh copy of the healthy world) and its checks

Kept out of tests/integration/, where every *.py is run as a test."""
