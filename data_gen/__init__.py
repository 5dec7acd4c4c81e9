"""Synthetic joint distributions with exact mutual information, and HDF5 shards of them."""

from data_gen import families, transforms  # noqa: F401  (registers the built-in entries)
from data_gen.config import GeneratorConfig
from data_gen.copula import elliptical_copula
from data_gen.registry import FAMILIES, TRANSFORMS
from data_gen.sampler import DatasetSampler, SampleSet
from data_gen.mixture import MixtureSampler, make_sampler
from data_gen.shards import ShardError, ShardReader, write_shard

__all__ = ["GeneratorConfig", "DatasetSampler", "MixtureSampler", "make_sampler", "SampleSet", "ShardReader", "ShardError", "write_shard",
           "FAMILIES", "TRANSFORMS", "elliptical_copula"]
