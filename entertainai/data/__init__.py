"""Schemas, dataset I/O, loaders and the demo data generator."""

from entertainai.data.dataset import Dataset, DatasetWriter, Manifest

__all__ = ["Dataset", "DatasetWriter", "Manifest"]
