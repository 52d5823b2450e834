"""The local fake AWS used by trailkeep's tests (see README.md)."""
